"""Tencent callbacks: one pydantic model per CallbackCommand, and the replies Tencent expects."""
