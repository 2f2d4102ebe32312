#!/usr/bin/python3
"""Read a topic written with Avro single-object encoding using a plain
confluent_kafka.Consumer, check each value's header against the schema
file, decode the body with the avro library and print a JSON line per record.

Usage: consume_single_object.py BROKERS TOPIC AVSC_FILE EXPECTED_COUNT

Single-object encoding (Avro specification): the two bytes C3 01, the
8-byte little-endian CRC-64-AVRO (Rabin) fingerprint of the writer schema's
Parsing Canonical Form, then the Avro binary body. The fingerprint is
computed here from the .avsc file alone, so this checks the connector's
header against the specification, not against the connector's own code.
"""

import io
import json
import struct
import sys

import avro.io
import avro.schema
from confluent_kafka import Consumer

from kafkaloop import consumer_config, fail, read_topic

SCRIPT = "consume_single_object.py"

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def canonical(schema, namespace=None):
    """Parsing Canonical Form of a schema given as parsed JSON (Avro spec,
    "Transforming into Parsing Canonical Form"): full names, only the
    attributes name, type, fields, symbols, items, values, size in that
    order, primitives in their simple form (so logicalType, doc, default,
    aliases go), no white space."""
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return json.dumps(schema)
        return json.dumps(schema if "." in schema or not namespace else f"{namespace}.{schema}")
    if isinstance(schema, list):
        return "[" + ",".join(canonical(s, namespace) for s in schema) + "]"
    kind = schema["type"]
    if not isinstance(kind, str) or kind in PRIMITIVES:
        return canonical(kind, namespace)  # {"type":"long","logicalType":...} -> "long"
    parts = []
    if kind in ("record", "error", "enum", "fixed"):
        name = schema["name"]
        if "." not in name and schema.get("namespace", namespace):
            name = f"{schema.get('namespace', namespace)}.{name}"
        namespace = name.rpartition(".")[0] or None
        parts.append('"name":' + json.dumps(name, ensure_ascii=False))
    parts.append('"type":' + json.dumps("record" if kind == "error" else kind))
    if "fields" in schema:
        fields = ('{"name":%s,"type":%s}' % (json.dumps(f["name"]), canonical(f["type"], namespace))
                  for f in schema["fields"])
        parts.append('"fields":[' + ",".join(fields) + "]")
    if "symbols" in schema:
        parts.append('"symbols":' + json.dumps(schema["symbols"], separators=(",", ":")))
    if "items" in schema:
        parts.append('"items":' + canonical(schema["items"], namespace))
    if "values" in schema:
        parts.append('"values":' + canonical(schema["values"], namespace))
    if "size" in schema:
        parts.append('"size":' + json.dumps(int(schema["size"])))
    return "{" + ",".join(parts) + "}"


# CRC-64-AVRO, the Rabin fingerprint of the Avro specification.
EMPTY = 0xC15D213AA4D7A795
TABLE = []
for i in range(256):
    fp = i
    for _ in range(8):
        fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
    TABLE.append(fp)


def rabin(data):
    fp = EMPTY
    for byte in data:
        fp = (fp >> 8) ^ TABLE[(fp ^ byte) & 0xFF]
    return fp


def main(argv):
    if len(argv) != 4:
        fail(SCRIPT, "usage: consume_single_object.py BROKERS TOPIC AVSC_FILE EXPECTED_COUNT")
    brokers, topic, avsc, expected = argv[0], argv[1], argv[2], int(argv[3])

    # Known answer from Avro's test suite (share/test/data/schema-tests.txt).
    if rabin(b'"null"') != 7195948357588979594:
        fail(SCRIPT, "CRC-64-AVRO implementation is wrong")

    with open(avsc, encoding="utf-8") as f:
        text = f.read()
    schema = avro.schema.parse(text)
    form = canonical(json.loads(text))
    header = b"\xC3\x01" + struct.pack("<Q", rabin(form.encode("utf-8")))
    # The avro library's own canonical form, when it differs, would give a
    # consumer that relies on it a different fingerprint; say so.
    own = getattr(schema, "canonical_form", None)
    if own is not None and own != form:
        print(f"{SCRIPT}: note: avro {avro.__version__} canonical_form differs from the "
              f"specification's for {avsc}: fingerprint {struct.pack('<Q', rabin(own.encode())).hex()} "
              f"instead of {header[2:].hex()}", file=sys.stderr)

    reader = avro.io.DatumReader(schema)

    def decode(msg):
        value = msg.value()
        where = f"{topic} [{msg.partition()}] offset {msg.offset()}"
        if value[:2] != b"\xC3\x01":
            fail(SCRIPT, f"{where}: value starts {value[:2].hex()}, want the single-object marker c301")
        if value[:10] != header:
            fail(SCRIPT, f"{where}: fingerprint {value[2:10].hex()}, want {header[2:].hex()} "
                         f"(little-endian CRC-64-AVRO of {form})")
        body = io.BytesIO(value[10:])
        datum = reader.read(avro.io.BinaryDecoder(body))
        if body.tell() != len(value) - 10:
            fail(SCRIPT, f"{where}: {len(value) - 10 - body.tell()} bytes left after the record")
        return datum

    consumer = Consumer(consumer_config(brokers))
    read_topic(SCRIPT, consumer, topic, expected, consumer.poll, decode)


if __name__ == "__main__":
    main(sys.argv[1:])
