"""TLP marking definitions (2.0 ids from OASIS, 1.0 ids mapped to 2.0) and their levels."""

from __future__ import annotations

from enum import IntEnum


class Tlp(IntEnum):
    """TLP levels, ordered from least to most restrictive; UNKNOWN means producer-only."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4
    UNKNOWN = 9

    @property
    def label(self) -> str:
        """Return the level's TLP name, e.g. ``TLP:AMBER+STRICT``."""
        return "TLP:" + self.name.replace("_", "+")

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """Return the level for a name such as ``amber+strict``, ``TLP:RED`` or ``white``."""
        key = text.strip().upper().removeprefix("TLP:").replace("+", "_").replace("-", "_")
        if key == "WHITE":
            return cls.CLEAR
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown TLP level {text!r}") from None


# TLP 2.0 marking definitions published by OASIS (cti-stix-common-objects, extension-definition
# specifications, tlp-2.0).
TLP2_IDS: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# TLP 1.0 marking definitions predefined by the STIX 2.1 specification (section 7.2.1.4).
TLP1_IDS: dict[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}

# TLP marking definitions that the field's main tools mint under ids of their own (see TOOL_TLP_SOURCES).
TOOL_TLP_IDS: dict[str, Tlp] = {
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37": Tlp.AMBER_STRICT,  # OpenCTI
}

TLP_BY_ID: dict[str, Tlp] = {**{v: k for k, v in TLP2_IDS.items()}, **TLP1_IDS, **TOOL_TLP_IDS}

# Ids nobody may publish: the hub holds them as their TLP levels and serves the canonical definitions.
RESERVED_MARKINGS: frozenset[str] = frozenset(TLP_BY_ID)

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

# Level recorded for a marking definition the hub holds that does not restrict reading.
NON_RESTRICTING = -1


def marking_definition_level(obj: dict[str, object]) -> int:
    """Return the TLP level a marking-definition object declares, or NON_RESTRICTING."""
    known = TLP_BY_ID.get(str(obj.get("id")))
    if known is not None:
        return int(known)
    if obj.get("definition_type") == "tlp":
        definition = obj.get("definition")
        if isinstance(definition, dict) and isinstance(definition.get("tlp"), str):
            try:
                return int(Tlp.parse(definition["tlp"]))
            except ValueError:
                return int(Tlp.UNKNOWN)
        return int(Tlp.UNKNOWN)
    extensions = obj.get("extensions")
    if isinstance(extensions, dict) and TLP2_EXTENSION in extensions:
        ext = extensions[TLP2_EXTENSION]
        level = ext.get("tlp_2_0") if isinstance(ext, dict) else None
        if isinstance(level, str):
            try:
                return int(Tlp.parse(level))
            except ValueError:
                return int(Tlp.UNKNOWN)
        return int(Tlp.UNKNOWN)
    return NON_RESTRICTING


def tlp2_marking_object(level: Tlp) -> dict[str, object]:
    """Return the OASIS TLP 2.0 marking-definition object for a level."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_IDS[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": level.label,
        "extensions": {
            TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.name.lower().replace("_", "+")}
        },
    }


_TLP1_NAMES = {Tlp.CLEAR: "white", Tlp.GREEN: "green", Tlp.AMBER: "amber", Tlp.RED: "red"}


def canonical_marking(marking_id: str) -> dict[str, object] | None:
    """Return the canonical definition of a TLP marking id the hub holds, or None for other ids.

    TLP 1.0 ids get the STIX 2.1 predefined objects (section 7.2.1.4), TLP 2.0 ids the OASIS
    extension objects, and ids minted by tools the TLP 2.0 form of their level under their own id.
    """
    marking_id = marking_id.lower()
    level = TLP_BY_ID.get(marking_id)
    if level is None:
        return None
    if marking_id in TLP1_IDS:
        name = _TLP1_NAMES[level]
        return {"type": "marking-definition", "spec_version": "2.1", "id": marking_id,
                "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": f"TLP:{name.upper()}",
                "definition": {"tlp": name}}
    return {**tlp2_marking_object(level), "id": marking_id}
