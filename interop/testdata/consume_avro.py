#!/usr/bin/python3
"""Read a topic written with Confluent framing (schema registry) using the
confluent-kafka 1.7 AvroConsumer, and print every record as a JSON line.

Usage: consume_avro.py BROKERS REGISTRY_URL TOPIC EXPECTED_COUNT [--decode-keys]

The AvroConsumer fetches the writer's schema by the ID in each value's
5-byte header from the registry and decodes the body with the avro library,
so timestamp-millis arrives as a timezone-aware datetime.

Keys: the connector's keys are plain UTF-8 IDs (docs/CONTRACTS.md), not
registry-framed Avro. AvroConsumer.poll decodes every non-null key as Avro
too and raises SerializerError ("message does not start with magic byte")
on the first record. So by default this script polls with the plain
Consumer.poll and decodes only the value, exactly as AvroConsumer.poll does.
--decode-keys uses AvroConsumer.poll unchanged, to show that limitation.
"""

import sys

from confluent_kafka import Consumer
from confluent_kafka.avro import AvroConsumer
from confluent_kafka.avro.serializer import SerializerError

from kafkaloop import consumer_config, fail, read_topic

SCRIPT = "consume_avro.py"


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 4 or set(argv) - set(args) - {"--decode-keys"}:
        fail(SCRIPT, "usage: consume_avro.py BROKERS REGISTRY_URL TOPIC EXPECTED_COUNT [--decode-keys]")
    brokers, registry, topic, expected = args[0], args[1], args[2], int(args[3])
    decode_keys = "--decode-keys" in argv

    config = consumer_config(brokers)
    config["schema.registry.url"] = registry
    consumer = AvroConsumer(config)

    if decode_keys:
        poll = consumer.poll  # decodes key and value; the value is already a dict

        def decode(msg):
            return msg.value()
    else:
        def poll(timeout):
            return Consumer.poll(consumer, timeout)

        def decode(msg):
            # The AvroConsumer's own serializer: registry lookup by schema ID,
            # then avro.io.DatumReader with the writer's schema.
            return consumer._serializer.decode_message(msg.value(), is_key=False)

    try:
        read_topic(SCRIPT, consumer, topic, expected, poll, decode)
    except SerializerError as e:
        fail(SCRIPT, f"{topic}: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
