"""Shared by the interop consumers: read one topic to its end, as a
read_committed consumer group member, and print each record as a JSON line.

Only the Python standard library, confluent_kafka (librdkafka) and the
caller's decode function are involved, so what is printed is what a third
party sees.
"""

import datetime
import json
import sys
import time
import uuid

from confluent_kafka import KafkaError

# Upper bound for reading one topic; the Go test allows more in total.
TIMEOUT_SECONDS = 30


def fail(script, message):
    """Print message on stderr, prefixed with the script name, and exit 1."""
    print(f"{script}: {message}", file=sys.stderr)
    sys.exit(1)


def consumer_config(brokers):
    """Settings every interop consumer shares: a fresh group that starts at
    the earliest offset, sees committed transactions only, and is told when
    it reaches the end of each partition."""
    return {
        "bootstrap.servers": brokers,
        "group.id": "interop-" + uuid.uuid4().hex,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    }


def _json_default(script, value):
    # timestamp-millis decodes to a datetime; print it as the consumer gave
    # it (ISO 8601 with its UTC offset) so the Go test can check the type.
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            fail(script, f"timestamp decoded without a time zone: {value!r}")
        return value.isoformat()
    fail(script, f"cannot print a decoded {type(value).__name__}: {value!r}")


def read_topic(script, consumer, topic, expected, poll, decode):
    """Subscribe consumer to topic, call poll(timeout) until every partition
    reported its end, decode each value with decode(message) and print one
    JSON line per record: partition, offset, key (UTF-8 text or null) and
    the decoded value. Exits non-zero on any error, on a record without a
    value, or when the count differs from expected."""
    meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        fail(script, f"topic {topic} not found: {meta and meta.error}")
    partitions = len(meta.partitions)
    consumer.subscribe([topic])
    at_end, count = set(), 0
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while len(at_end) < partitions:
        if time.monotonic() > deadline:
            fail(script, f"{topic}: timed out after {count} records; "
                         f"partitions at their end: {sorted(at_end)} of {partitions}")
        msg = poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
                continue
            fail(script, f"{topic}: {msg.error()}")
        if msg.value() is None:
            fail(script, f"{topic} [{msg.partition()}] offset {msg.offset()}: record without a value")
        value = decode(msg)
        key = msg.key()
        line = {
            "partition": msg.partition(),
            "offset": msg.offset(),
            "key": None if key is None else key.decode("utf-8"),
            "value": value,
        }
        print(json.dumps(line, default=lambda v: _json_default(script, v)))
        count += 1
    consumer.close()
    if count != expected:
        fail(script, f"{topic}: read {count} records, want {expected}")
