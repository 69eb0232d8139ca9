"""Speaking to Tencent: UserSig, webhook signatures, the REST client and its error taxonomy."""
