"""Twilio: texts and calls through the real `twilio` SDK, and its signed webhooks."""
