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


def computing(flag: clone_core.AbortFlag, polls: list[bool], stop: threading.Event, started: threading.Event):
    """A compute thread as llama.cpp runs one: one step (``enter`` .. ``leave``) of graph nodes, the
    callback after each, until told to stop or the callback says abort."""

    def run() -> None:
        flag.enter()
        try:
            while not stop.is_set():
                polls.append(flag.poll())
                started.set()
                if polls[-1]:
                    return
        finally:
            flag.leave()

    return threading.Thread(target=run)


def test_a_paused_step_holds_between_two_nodes_until_resumed():
    flag, polls, stop, started = clone_core.AbortFlag(), [], threading.Event(), threading.Event()
    thread = computing(flag, polls, stop, started)
    thread.start()
    assert started.wait(10)
    assert flag.pause(10.0)  # returns once the step holds inside the callback
    held = len(polls)
    thread.join(0.1)
    assert thread.is_alive() and len(polls) == held  # no node ran while paused
    flag.resume()
    stop.set()
    thread.join(10)
    assert len(polls) > held and not any(polls)
    assert flag.parked_s > 0


def test_a_pause_asked_between_steps_holds_the_next_step_back():
    flag, polls, stop, started = clone_core.AbortFlag(), [], threading.Event(), threading.Event()
    assert flag.pause(0.0)  # nothing computes: it holds at once
    thread = computing(flag, polls, stop, started)
    thread.start()
    thread.join(0.1)
    assert thread.is_alive() and polls == []  # waiting in ``enter``
    flag.resume()
    assert started.wait(10)
    stop.set()
    thread.join(10)
    assert polls and not flag.pause_asked


def test_an_abort_ends_a_held_step():
    flag, polls, stop, started = clone_core.AbortFlag(), [], threading.Event(), threading.Event()
    thread = computing(flag, polls, stop, started)
    thread.start()
    assert started.wait(10)
    assert flag.pause(10.0)
    flag.set()  # the held callback returns True: llama.cpp would stop the step
    thread.join(10)
    assert not thread.is_alive() and polls[-1] is True
    flag.resume()
