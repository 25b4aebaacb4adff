"""Identity backends other than the SQL tables: one module per kind (ldap)."""
