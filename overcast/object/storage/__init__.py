"""Storage nodes: the account, container and object servers and their background daemons."""
