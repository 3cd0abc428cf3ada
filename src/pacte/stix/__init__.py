"""STIX 2.1 knowledge the hub needs: markings, timestamps and fast structural validation."""
