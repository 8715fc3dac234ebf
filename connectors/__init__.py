"""PSA connectors. Each vendor package imports only `connectors.sdk`."""
