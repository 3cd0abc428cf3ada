"""The reciprocity ledger (issue 11): what each member gives to the community and what it gets from it.

* :mod:`pacte.ledger.record`: read paths count the objects they hand to each reader, per channel and
  producer, in memory; the counts are added to the store every few seconds (no write per request).
* :mod:`pacte.ledger.report`: one member's ledger per day, week or month: its own figures in full
  (contributed, consumed, sightings given back, the value of its contributions to others) and the
  community's, only as aggregates that reveal no object it may not read and no single other member
  unless that member opted in (``PUT /api/v1/ledger/opt-in``).
* :mod:`pacte.ledger.periods`: the periods (whole UTC days).

Served as ``GET /api/v1/ledger`` (:mod:`pacte.api.ledger`) and ``pacte ledger`` (:mod:`pacte.cli.ledger`).
"""
