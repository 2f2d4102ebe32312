package freshchattest

import "strconv"

// vendorDefs are events the vendor SDK names but the connector has no
// schema for. The API serves them like the 12 reports; their columns are the
// simulator's own invention (the vendor publishes none), chosen to exercise
// a connector that derives a schema from the header: a column name with a
// space ("first response"), numbers with and without a fraction, and free
// text with commas, quotes, newlines and non-ASCII UTF-8 (message_text).
var vendorDefs = buildEventDefs([]eventDef{
	{
		name: "agent-performance",
		columns: []string{"agent_id", "agent_name", "group_name", "created_at",
			"conversations_handled", "avg_response_seconds", "first response"},
		groupOptional: true,
		driftDrop:     "group_name",
		ownCells: map[string]cellFunc{
			"conversations_handled": func(c *rowCtx) string { return u(c.handled()) },
			// avg_response_seconds is an average: up to three decimals,
			// empty when no conversation was handled.
			"avg_response_seconds": func(c *rowCtx) string {
				if c.handled() == 0 {
					return ""
				}
				ms := c.rnd(kAvgResponse) % 3_600_000
				return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
			},
			"first response": func(c *rowCtx) string {
				if c.handled() == 0 {
					return ""
				}
				return u(c.rnd(kFirstResponseVendor) % 3_600)
			},
		},
	},
	{
		name: "classic",
		columns: []string{"interaction_id", "conversation_id", "created_at", "channel_id",
			"channel_name", "group_name", "status"},
		groupOptional: true,
		driftDrop:     "group_name",
		ownCells: map[string]cellFunc{
			"status": func(c *rowCtx) string { return pick(c.rnd(kConvStatus), convStatuses) },
		},
	},
	{
		name: "Chat-Transcript",
		columns: []string{"conversation_id", "interaction_id", "created_at", "actor_type",
			"actor_id", "actor_name", "message_text", "attachment_url"},
		actorTypes: actorsAll,
		driftDrop:  "attachment_url",
		ownCells: map[string]cellFunc{
			// message_text is empty when the message is an attachment.
			"message_text": func(c *rowCtx) string {
				if c.attachment() {
					return ""
				}
				return pick(c.rnd(kMessage), transcriptMessages)
			},
			"attachment_url": func(c *rowCtx) string {
				if !c.attachment() {
					return ""
				}
				return "https://simulated.freshchat.com/attachments/" +
					uuid(c.rnd(kAttachmentID), c.rnd(kAttachmentID+1000)) + "/" +
					pick(c.rnd(kAttachmentName), attachmentNames)
			},
		},
	},
})

var (
	convStatuses    = []string{"new", "assigned", "resolved", "reopened"}
	attachmentNames = []string{"receipt.pdf", "screenshot.png", "order-export.csv"}
	// transcriptMessages are chat messages: most hold a comma, double
	// quotes, a newline or non-ASCII UTF-8, several all of them. None holds
	// a carriage return or leading/trailing blanks.
	transcriptMessages = []string{
		"Hi, I need help with order #4521",
		"The app says \"payment failed\", but I was charged twice",
		"Line one\nLine two, with a comma\nLine three",
		"Merci beaucoup ! C'est réglé 👍",
		"请帮我查一下订单，谢谢",
		"\"Quoted\" at the start and at the end \"too\"",
		"Ünïcödé, \"quotes\", commas,\nand a newline: all at once 🚀",
		"a,b,c\n1,2,3",
		"\"",
		",",
		"ok",
		"00123",
	}
)

func (c *rowCtx) handled() uint64  { return c.rnd(kHandled) % 25 }
func (c *rowCtx) attachment() bool { return c.rnd(kAttachment)%8 == 0 }

// VendorEvents returns the event names of the vendor SDK the simulator also
// serves although the connector has no schema for them: agent-performance,
// classic and Chat-Transcript. Columns, Rows, Count, ServedRows and
// DriftColumns work for them as for Events, and the API accepts them.
func VendorEvents() []string {
	out := make([]string, len(vendorDefs))
	for i, d := range vendorDefs {
		out[i] = d.name
	}
	return out
}
