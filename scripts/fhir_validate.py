"""Checks FHIR R4 (4.0.1) JSON files with two independent validators from PyPI:
fhir.resources 6.4.0 (pydantic models of R4) and fhirclient 4.4.0 (SMART on FHIR's models,
strict). Each checks the structure, cardinalities, types and primitive formats of the base
resources, nested Bundles included; neither checks profiles or terminology. Exit status 1 and
every error printed when a file fails either; 0 when all pass."""
import json
import sys

from fhir.resources import __fhir_version__
from fhir.resources.bundle import Bundle as PydanticBundle
from fhirclient.models.bundle import Bundle as SmartBundle
from pydantic import ValidationError

assert __fhir_version__ == "4.0.1", __fhir_version__


def by_fhir_resources(data):
    try:
        PydanticBundle.parse_obj(data)
        return []
    except ValidationError as e:
        return [".".join(map(str, err["loc"])) + ": " + err["msg"] for err in e.errors()]
    except LookupError as e:
        return [f"unknown resourceType: {e}"]


def by_fhirclient(data):
    try:
        SmartBundle(data, strict=True)
        return []
    except Exception as e:  # FHIRValidationError, or a type the models cannot take
        return [" ".join(str(e).split())[:2000]]


failed = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if data.get("resourceType") != "Bundle":
        print(f"{path}: not a Bundle")
        failed = True
        continue
    for name, check in (("fhir.resources", by_fhir_resources), ("fhirclient", by_fhirclient)):
        errors = check(data)
        print(f"{path}: {name}: {'valid' if not errors else 'INVALID'}")
        for e in errors:
            print("    " + e)
        failed |= bool(errors)
sys.exit(1 if failed else 0)
