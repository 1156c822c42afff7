"""The domain's words and the speakable mandate reference."""
