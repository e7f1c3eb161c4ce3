"""Platform code every part of the service relies on."""
