"""aiogram routers for polling delivery, one per feature, built fresh for each Dispatcher.

The routers only route; what to say is the ``TelegramResponder``'s, shared with webhook
delivery through the gateway.
"""

from aiogram import Router

from aiclone_agent.telegram.routers import chat, memory, reset, start


def build_routers() -> list[Router]:
    return [start.build_router(), reset.build_router(), memory.build_router(), chat.build_router()]
