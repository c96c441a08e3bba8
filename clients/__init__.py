"""Programs that talk to alertd from outside: the hardware button bridge and the Python client.

They use the public HTTP API and the stream only. The one piece of alertd they share is
`alertd.core.device_signature`, the device-signing scheme (pure, standard library only), so
that a device, the bridge's simulator and the server sign and check the same canonical string.
"""
