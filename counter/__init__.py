"""The staff screens: the counter desk and the supervisor's views of the room.

They stand on the core (``gateway``) and ``devices``; the screens arrive with the counter
issue. Nothing here may be imported by ``gateway``.
"""
