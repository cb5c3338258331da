/*
 * Load-time repacking of weights into the layouts of gemm.c (Q4_0, Q8_0)
 * and gemm_k.c (Q4_K).  The copy is
 * made once per tensor; the file mapping's pages of that tensor are then
 * dropped (MADV_DONTNEED on a private read-only mapping only forgets them:
 * a later read, e.g. an embedding row, faults the file's bytes back in).
 */
#include "config.h"

#include "repack.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gemm.h"
#include "gemm_k.h"
#include "matmul.h"
#include "model.h"
#include "quant.h"
#include "quant_impl.h"

static void
release(const void *p, size_t n)
{
	long		 page = sysconf(_SC_PAGESIZE);
	uintptr_t	 a, b;

	if (page <= 0)
		return;
	a = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	b = ((uintptr_t)p + n) & ~((uintptr_t)page - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

#define RP_HUGE	(2UL << 20)	/* a huge page on x86-64 */

/*
 * Memory for a repacked copy.  One of a huge page or more is mapped on
 * huge-page boundaries and offered to transparent huge pages: the copy
 * is then made with one fault per 2 MiB instead of 512, and the kernels,
 * which stream it, walk far fewer pages.  *map is the mapped length (0:
 * the memory came from posix_memalign).  NULL if neither can be had.
 */
static void *
rp_alloc(size_t bytes, size_t *map)
{
	long		 page = sysconf(_SC_PAGESIZE);
	uint8_t		*p, *a;
	size_t		 len;
	void		*m;

	*map = 0;
	if (page > 0 && bytes >= RP_HUGE && bytes <= SIZE_MAX / 2) {
		/* To the page: a huge page is only had where 2 MiB of the
		 * copy lie, so the tail costs no more than with malloc. */
		len = (bytes + (size_t)page - 1) & ~((size_t)page - 1);
		p = mmap(NULL, len + RP_HUGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			a = (uint8_t *)(((uintptr_t)p + RP_HUGE - 1) &
			    ~(uintptr_t)(RP_HUGE - 1));
			if (a > p)
				munmap(p, (size_t)(a - p));
			if (p + RP_HUGE > a)
				munmap(a + len, (size_t)(p + RP_HUGE - a));
#ifdef MADV_HUGEPAGE
			madvise(a, len, MADV_HUGEPAGE);
#endif
			*map = len;
			return a;
		}
	}
	return posix_memalign(&m, 64, bytes) == 0 ? m : NULL;
}

/* Interleave eight rows of Q4_0 blocks. */
static void
pack_q4_0x8(struct rp_q4_0x8 *out, const uint8_t *src, size_t row_size,
    int64_t nb)
{
	const struct qt_block_q4_0	*rows[8];
	int64_t				 b;
	int				 r, c;

	for (r = 0; r < 8; r++)
		rows[r] = (const void *)(src + (size_t)r * row_size);
	for (b = 0; b < nb; b++, out++) {
		for (r = 0; r < 8; r++) {
			out->d[r] = rows[r][b].d;
			for (c = 0; c < 4; c++)
				memcpy(out->qs + c * 32 + r * 4,
				    rows[r][b].qs + c * 4, 4);
		}
	}
}

/* Interleave eight rows of Q8_0 blocks, quants made unsigned. */
static void
pack_q8_0x8(struct rp_q8_0x8 *out, const uint8_t *src, size_t row_size,
    int64_t nb)
{
	const struct qt_block_q8_0	*rows[8];
	int64_t				 b;
	int				 r, c, i;

	for (r = 0; r < 8; r++)
		rows[r] = (const void *)(src + (size_t)r * row_size);
	for (b = 0; b < nb; b++, out++) {
		for (r = 0; r < 8; r++) {
			out->d[r] = rows[r][b].d;
			for (c = 0; c < 8; c++)
				for (i = 0; i < 4; i++)
					out->qs[c * 32 + r * 4 + i] =
					    (uint8_t)rows[r][b].qs[c * 4 + i] ^
					    0x80;
		}
	}
}

/* Interleave sixteen rows of Q4_K blocks (the bytes as they are). */
static void
pack_q4_K_x16(struct rp_q4_K_x16 *out, const uint8_t *src,
    size_t row_size, int64_t nb)
{
	const struct qt_block_q4_K	*rows[16];
	int64_t				 b;
	int				 r, j, g, k;

	for (r = 0; r < 16; r++)
		rows[r] = (const void *)(src + (size_t)r * row_size);
	for (b = 0; b < nb; b++, out++) {
		for (r = 0; r < 16; r++) {
			const struct qt_block_q4_K	*x = &rows[r][b];

			out->d[r] = x->d;
			out->dmin[r] = x->dmin;
			for (k = 0; k < 3; k++)
				memcpy(&out->sc[k][r], x->scales + 4 * k, 4);
			for (j = 0; j < 4; j++)
				for (g = 0; g < 8; g++)
					memcpy(out->qs[j][g] + 4 * r,
					    x->qs + 32 * j + 4 * g, 4);
		}
	}
}

/* Repack w when a kernel for its layout exists; see repack.h. */
long
repack_tensor(struct mtensor *w, int release_source)
{
	const uint8_t	*src = w->data;
	int64_t		 nb, g, rows, qk;
	size_t		 bytes, gsize;
	void		*p;
	int		 kind, ok;

	w->rp = NULL;
	w->rp_kind = RP_NONE;
	switch (w->type) {
	case QT_Q4_0:
		kind = RP_Q4_0X8;
		gsize = sizeof(struct rp_q4_0x8);
		rows = 8;
		qk = QK4_0;
		ok = gemm_get_rp(kind) != NULL;
		break;
	case QT_Q8_0:
		kind = RP_Q8_0X8;
		gsize = sizeof(struct rp_q8_0x8);
		rows = 8;
		qk = QK8_0;
		ok = gemm_get_rp(kind) != NULL;
		break;
	case QT_Q4_K:
		/* Only where matmul takes llama.cpp's repacked orders (not
		 * the token embedding): the kernel adds in those. */
		kind = RP_Q4_KX16;
		gsize = sizeof(struct rp_q4_K_x16);
		rows = 16;
		qk = QK_K;
		ok = gemm_k_get_rp(kind) != NULL && mm_rp_orders(w);
		break;
	default:
		return 0;
	}
	if (!ok || w->ne1 % rows != 0 || w->ne0 % qk != 0)
		return 0;
	nb = w->ne0 / qk;
	if (__builtin_mul_overflow((size_t)(w->ne1 / rows) * (size_t)nb, gsize,
	    &bytes))
		return -1;
	if ((p = rp_alloc(bytes, &w->rp_map)) == NULL)
		return -1;
	/* Release the source as we go (every 64 groups), so the peak is
	 * one copy plus a few megabytes, not two copies of the tensor. */
	for (g = 0; g < w->ne1 / rows; g++) {
		const uint8_t	*s = src + (size_t)(g * rows) * w->row_size;
		uint8_t		*d = (uint8_t *)p + (size_t)(g * nb) * gsize;

		if (kind == RP_Q4_0X8)
			pack_q4_0x8((void *)d, s, w->row_size, nb);
		else if (kind == RP_Q8_0X8)
			pack_q8_0x8((void *)d, s, w->row_size, nb);
		else
			pack_q4_K_x16((void *)d, s, w->row_size, nb);
		if (release_source && (g + 1) % 64 == 0)
			release(src + (size_t)((g - 63) * rows) * w->row_size,
			    (size_t)(64 * rows) * w->row_size);
	}
	if (release_source)
		release(w->data, (size_t)w->ne1 * w->row_size);
	w->rp = p;
	w->rp_kind = kind;
	return (long)bytes;
}

/* Free a tensor's repacked copy. */
void
repack_free(struct mtensor *w)
{
	if (w->rp_map != 0)
		munmap(w->rp, w->rp_map);
	else
		free(w->rp);
	w->rp = NULL;
	w->rp_map = 0;
	w->rp_kind = RP_NONE;
}

/*
 * Row `row` of a repacked w back in floats, from the copy: the file's
 * pages of a tied embedding table were released when its copy was made,
 * and looking rows up there would fault them back (with read-ahead, tens
 * of MiB for a long prompt) beside the copy.  Each block is put back in
 * the file's layout and converted by the type's own to_f32, so the floats
 * are those of the file's row.  Returns 0, or -1 if w is not repacked.
 */
int
repack_row_f32(const struct mtensor *w, int64_t row, float *out)
{
	const struct qt_traits	*t = qt_get(w->type);
	int64_t			 nb, b;
	int			 r = (int)(row % 8), c, i;

	if (w->rp == NULL || row < 0 || row >= w->ne1)
		return -1;
	if (w->rp_kind == RP_Q4_KX16) {
		const struct rp_q4_K_x16	*p;
		struct qt_block_q4_K		 blk;
		int				 j, g;

		r = (int)(row % 16);
		nb = w->ne0 / QK_K;
		p = (const struct rp_q4_K_x16 *)w->rp + (row / 16) * nb;
		for (b = 0; b < nb; b++, p++, out += QK_K) {
			blk.d = p->d[r];
			blk.dmin = p->dmin[r];
			for (c = 0; c < 3; c++)
				memcpy(blk.scales + 4 * c, &p->sc[c][r], 4);
			for (j = 0; j < 4; j++)
				for (g = 0; g < 8; g++)
					memcpy(blk.qs + 32 * j + 4 * g,
					    p->qs[j][g] + 4 * r, 4);
			t->to_f32(&blk, out, QK_K);
		}
		return 0;
	}
	nb = w->ne0 / QK8_0;
	for (b = 0; b < nb; b++, out += QK8_0) {
		if (w->rp_kind == RP_Q4_0X8) {
			const struct rp_q4_0x8	*p = (const struct rp_q4_0x8 *)
						    w->rp + (row / 8) * nb + b;
			struct qt_block_q4_0	 blk;

			blk.d = p->d[r];
			for (c = 0; c < 4; c++)
				memcpy(blk.qs + 4 * c, p->qs + c * 32 + r * 4, 4);
			t->to_f32(&blk, out, QK4_0);
		} else if (w->rp_kind == RP_Q8_0X8) {
			const struct rp_q8_0x8	*p = (const struct rp_q8_0x8 *)
						    w->rp + (row / 8) * nb + b;
			struct qt_block_q8_0	 blk;

			blk.d = p->d[r];
			for (c = 0; c < 8; c++)
				for (i = 0; i < 4; i++)
					blk.qs[4 * c + i] = (int8_t)(p->qs[c * 32 +
					    r * 4 + i] ^ 0x80);
			t->to_f32(&blk, out, QK8_0);
		} else
			return -1;
	}
	return 0;
}
