"""Validates an in-toto Statement v1 with a SLSA provenance v1 predicate against the official
definitions (the in-toto-attestation protobuf bindings): json_format.Parse refuses unknown
fields and wrong types; the bindings' validate() checks what the specs require.
Usage: validate_provenance.py STATEMENT.json; exit 0 when valid, 1 with the reason when not."""

import json
import sys

from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"


def validate(text):
    statement = json_format.Parse(text, statement_pb2.Statement())
    Statement.copy_from_pb(statement).validate()
    if statement.predicate_type != SLSA_PROVENANCE_V1:
        raise ValueError("predicateType is not " + SLSA_PROVENANCE_V1)
    predicate = json.dumps(json.loads(text)["predicate"])
    provenance = json_format.Parse(predicate, provenance_pb2.Provenance())
    definition = provenance.build_definition
    if not definition.build_type:
        raise ValueError("buildDefinition.buildType is required")
    if len(definition.external_parameters) == 0:
        raise ValueError("buildDefinition.externalParameters is required")
    for dependency in definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dependency).validate()
    if not provenance.run_details.builder.id:
        raise ValueError("runDetails.builder.id is required")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        validate(text)
    except Exception as error:  # noqa: BLE001 - any refusal is the answer
        print("invalid: %s: %s" % (type(error).__name__, error))
        return 1
    print("valid in-toto Statement v1 with SLSA provenance v1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
