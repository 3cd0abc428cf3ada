"""Immediate sharing: the live event stream (SSE), exact resume, and signed webhooks (issue 4).

The event log in the store (:mod:`pacte.store.events`) is the source of truth; the
:class:`~pacte.stream.broker.Broker` of each server process pages it for its subscribers,
woken after each local commit, by PostgreSQL NOTIFY, or by a short poll.

Stream (``GET /api/v1/stream``, ``Authorization: Bearer <token>``)
    Filters (repeat or comma-separate): ``type``, ``producer`` (organisation name),
    ``collection`` (id or name; 404 if the caller does not read it), ``tlp`` (clear, green,
    amber, amber+strict, red: the effective level), ``label``; ``refs=true`` adds, to each
    object, the objects it refers to that the caller may read (never the others). Each event is
    ``id: <event id>``, ``event: object | member-added | member-removed``, ``data: <JSON>`` with
    ``event`` (the same id), ``kind``, ``time``, ``collection`` {id, name}, and for objects
    ``producer``, ``tlp``, ``object`` (the STIX object) and ``references``. Event ids are opaque,
    sealed for the reader (:mod:`pacte.hub.positions`): they count nothing of other members'
    events, and only the reader's own resume. Idle streams get a heartbeat whose ``id:`` seals,
    afresh each time, the last event delivered (never the position scanned past hidden events).
    Resume with ``Last-Event-ID`` (or ``?last_event_id=``; ``0`` is the start of the log); an id
    the hub did not give this reader is HTTP 400, one older than the retention HTTP 409 with
    ``resync_required``. The server ends a stream
    with ``event: error`` (``unauthenticated``, ``resync_required``, ``too_slow``,
    ``shutting_down``); the last two invite a reconnect with ``Last-Event-ID``.
    Each version is delivered once: a re-share into another collection the reader already read
    it through is not delivered again; a member that joins a collection gets ``member-added``,
    not the collection's past events.

Authorisation changes (revoked token, membership, marking, deleted collection or share)
    No event that a change forbids is handed to a stream's connection after the change is
    acknowledged — in one process, and across ``pacte serve`` processes on one PostgreSQL
    database. Events are written to sockets only in *send windows* fenced against narrowing
    changes (an advisory lock on PostgreSQL; see :mod:`pacte.stream.broker`). What is not
    covered: bytes already handed to the kernel or a proxy before the acknowledgement;
    webhooks (a delivery in flight completes); SQLite written by another process (caught by
    the next window's check, not fenced).

Webhooks (``/api/v1/webhooks``, admin token)
    ``POST {url, types, producer, collection, tlp, labels, refs}`` returns the id and the signing
    secret (shown once). Each event is POSTed alone, as the stream's JSON, with
    ``X-Pacte-Delivery`` (the same on retries), ``X-Pacte-Event``, ``X-Pacte-Timestamp`` and
    ``X-Pacte-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` (see
    :func:`pacte.stream.webhooks.verify`). A 2xx is success; anything else, a redirect included
    (never followed), is retried with exponential backoff. ``GET .../{id}/deliveries`` shows the
    log to the member's tokens. A webhook stops when the token that registered it is revoked.

Settings (environment, ``PACTE_STREAM_<NAME>``; see :class:`~pacte.stream.settings.StreamSettings`)
    ``RETENTION_SECONDS`` (7 days), ``HEARTBEAT_SECONDS`` (15), ``POLL_SECONDS`` (0.25),
    ``QUEUE_CHUNKS`` (512) and ``SEND_TIMEOUT_SECONDS`` (60) for clients that read too slowly,
    ``ROUND_GAP_PER_SUBSCRIBER`` (0.0001) and ``ROUND_GAP_MAX_SECONDS`` (0.1): under load, rounds
    are spaced by this much per open stream (fewer, larger writes), ``WINDOW_SECONDS`` (1),
    ``WEBHOOK_MAX_ATTEMPTS`` (8), ``WEBHOOK_BACKOFF_SECONDS`` (1), ``WEBHOOK_TIMEOUT_SECONDS``
    (10), ``WEBHOOK_ALLOW_PRIVATE`` (off: loopback and private receivers are refused).
"""
