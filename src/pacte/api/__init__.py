"""The native JSON API (``/api/v1``) and the application factory that mounts every HTTP surface."""
