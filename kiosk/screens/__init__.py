"""The kiosk's screens, in the order a customer meets them."""
