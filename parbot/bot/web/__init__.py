"""Small web pages behind signed links (evidence upload) and the operator's /healthz."""
