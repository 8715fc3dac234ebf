"""The service document and the `$metadata` document (CSDL XML, OData v4.0)."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from app.bi.odata.entities import ENTITY_SETS, NAMESPACE

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
CONTAINER = "Container"


def service_document(base: str) -> dict[str, Any]:
    """The JSON service document: every entity set with its relative URL."""
    return {
        "@odata.context": f"{base}/$metadata",
        "value": [
            {"name": s.name, "kind": "EntitySet", "url": s.name} for s in ENTITY_SETS.values()
        ],
    }


def metadata_xml() -> bytes:
    """CSDL XML describing every entity type (keys, EDM types, nullability, navigation
    properties with the property each follows) and set."""
    root = Element("edmx:Edmx", {"xmlns:edmx": EDMX, "Version": "4.0"})
    services = SubElement(root, "edmx:DataServices")
    schema = SubElement(services, "Schema", {"xmlns": EDM, "Namespace": NAMESPACE})
    for entity_set in ENTITY_SETS.values():
        entity_type = SubElement(schema, "EntityType", {"Name": entity_set.type_name})
        key = SubElement(entity_type, "Key")
        for name in entity_set.key:
            SubElement(key, "PropertyRef", {"Name": name})
        for prop in entity_set.props:
            SubElement(
                entity_type,
                "Property",
                {"Name": prop.name, "Type": prop.edm, "Nullable": str(prop.nullable).lower()},
            )
        for nav in entity_set.navs:
            target = f"{NAMESPACE}.{ENTITY_SETS[nav.target].type_name}"
            attributes = {"Name": nav.name, "Type": target}
            if nav.collection:
                attributes["Type"] = f"Collection({target})"
            else:
                attributes["Nullable"] = "true"
            element = SubElement(entity_type, "NavigationProperty", attributes)
            if not nav.collection:  # this row holds the reference: say which property
                SubElement(
                    element,
                    "ReferentialConstraint",
                    {"Property": nav.local, "ReferencedProperty": nav.remote},
                )
    container = SubElement(schema, "EntityContainer", {"Name": CONTAINER})
    for entity_set in ENTITY_SETS.values():
        element = SubElement(
            container,
            "EntitySet",
            {"Name": entity_set.name, "EntityType": f"{NAMESPACE}.{entity_set.type_name}"},
        )
        for nav in entity_set.navs:
            SubElement(
                element, "NavigationPropertyBinding", {"Path": nav.name, "Target": nav.target}
            )
        SubElement(
            element,
            "Annotation",
            {"Term": "Org.OData.Core.V1.Description", "String": entity_set.description},
        )
    text = tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text).encode("utf-8")
