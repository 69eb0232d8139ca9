"""Development-only tools: the Tencent Live emulator, the local stack, the demo and its driver."""
