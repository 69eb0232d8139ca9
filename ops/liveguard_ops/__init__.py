"""The `liveguard` command: operations on a running LiveGuard (its DLQs, Tencent's webhook configuration),
the rules checker, and the front door to the development tools in liveguard_local."""
