"""The HTTP edge every surface shares (native API, TAXII, stream): credentials and bounded request bodies.

It sits below ``api``, ``taxii`` and ``stream`` so that none of them imports another (ARCHITECTURE.md, Layers).
"""
