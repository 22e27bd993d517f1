"""The clone's LoRA adapter: PEFT folders read with numpy, converted to GGUF LoRA for llama.cpp
(no torch), checked against the base model and applied live at a changeable scale."""
