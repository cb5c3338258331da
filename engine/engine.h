/*
 * The engine as a front end sees it: a worker thread that reads requests
 * from one pipe and writes events to another (common/proto.h).  Nothing else
 * of the engine is visible to front ends.
 */
#ifndef YT_ENGINE_ENGINE_H
#define YT_ENGINE_ENGINE_H

struct engine;

/* Start the worker on fd_req (it reads requests) and fd_ev (it writes
 * events); the engine owns neither fd.  NULL if no thread can start. */
struct engine	*engine_start(int fd_req, int fd_ev);
/* Make the reply or prefill under way stop within one token or layer;
 * also send PROTO_REQ_CANCEL.  Safe from any thread. */
void		 engine_cancel(struct engine *);
/* Wait for the worker to end (after PROTO_REQ_QUIT or EOF on fd_req) and
 * free it. */
void		 engine_join(struct engine *);
/* Choose the kernels for this CPU; once, before any engine use, on the
 * main thread. */
void		 engine_init(void);
/* The name of the kernels chosen ("avx2", ...): a static string. */
const char	*engine_simd_name(void);

#endif
