"""The public screens: the check-in kiosk by the door and the waiting-room board.

They stand on the core (``gateway``) and ``devices``; the screens arrive with the kiosk
issue. Nothing here may be imported by ``gateway``.
"""
