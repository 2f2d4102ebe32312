package pipeline

import "github.com/freshstream/freshchat-kafka/sink"

// Writer is the event's transactional producer, for tests.
func (p *Pipeline) Writer(event string) *sink.Writer {
	for _, r := range p.runners {
		if r.event == event {
			return r.writer
		}
	}
	return nil
}
