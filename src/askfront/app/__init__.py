"""The browser app: the shared service, the web guard, the page and its panels."""
