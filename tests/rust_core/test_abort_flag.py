"""``clone_core.AbortFlag``: the C callback llama.cpp calls after every graph node reads the flag
the decode loop sets from another thread, without Python in between."""

from __future__ import annotations

import ctypes
import threading

import clone_core

ABORT_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p)  # ggml_abort_callback


def callback_of(flag: clone_core.AbortFlag):
    return ABORT_CALLBACK(flag.callback_address)


def test_the_c_callback_returns_what_the_flag_holds():
    flag = clone_core.AbortFlag()
    callback = callback_of(flag)
    data = ctypes.c_void_p(flag.data_address)
    assert callback(data) is False
    flag.set()
    assert flag.is_set and callback(data) is True and flag.poll()
    flag.clear()
    assert not flag.is_set and callback(data) is False


def test_two_flags_are_independent_and_share_one_callback():
    first, second = clone_core.AbortFlag(), clone_core.AbortFlag()
    assert first.callback_address == second.callback_address
    assert first.data_address != second.data_address
    first.set()
    callback = callback_of(first)
    assert callback(ctypes.c_void_p(first.data_address)) is True
    assert callback(ctypes.c_void_p(second.data_address)) is False


def test_a_null_data_pointer_never_aborts():
    flag = clone_core.AbortFlag()
    flag.set()
    assert callback_of(flag)(None) is False


def test_a_flag_set_on_another_thread_is_seen():
    flag = clone_core.AbortFlag()
    setter = threading.Thread(target=flag.set)
    setter.start()
    setter.join()
    assert callback_of(flag)(ctypes.c_void_p(flag.data_address)) is True
