/*
 * PEFT LoRA folders (adapter_config.json and adapter_model.safetensors,
 * as Hugging Face's peft saves them) read into the same pairs as a GGUF
 * adapter: names mapped to the GGUF matrices, rows of q_proj/k_proj
 * permuted as llama.cpp's converter permutes the weights.
 */
#ifndef YT_ENGINE_LORA_PEFT_H
#define YT_ENGINE_LORA_PEFT_H

struct lora;
struct model;

/* Read the PEFT folder a->path into a's pairs, checked against m (lora.h
 * fills the rest).  0, or -1 and *cause (caller frees). */
int	lora_peft_read(struct model *m, struct lora *a, char **cause);

#endif
