"""Hardware at the edge of the centre: thermal printers, scanners and door sensors.

Devices know tickets as plain data (number, service name, language, wait, QR payload),
never the database. The drivers arrive with the devices issue.
"""
