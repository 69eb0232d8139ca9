"""LiveGuard: moderation and automation for Tencent Cloud TUILiveKit live rooms, on AWS."""
