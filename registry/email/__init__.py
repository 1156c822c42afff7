"""E-mail: message rendering (`render`) and the senders that deliver them (`senders`)."""
