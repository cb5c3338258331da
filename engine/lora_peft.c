/*
 * PEFT LoRA folders: adapter_config.json for rank, alpha and the target
 * modules; adapter_model.safetensors for the pairs.
 */
#include "config.h"

#include "lora_peft.h"

#include "lora.h"
#include "common/util.h"

/* Read a PEFT folder (lora_peft.h). */
int
lora_peft_read(struct model *m, struct lora *a, char **cause)
{
	(void)m;
	(void)a;
	return util_cause(cause, "PEFT folders are not supported yet");
}
