"""aiogram routers for polling delivery, built fresh for each Dispatcher."""

from aiogram import Router

from aiclone_agent.telegram.routers import messages


def build_routers() -> list[Router]:
    return [messages.build_router()]
