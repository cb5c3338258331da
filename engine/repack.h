/*
 * Weights repacked at load for the matmul kernels: Q4_0 and Q8_0 rows
 * interleaved eight at a time, so one 256-bit register holds four
 * weights of eight rows and the eight row sums of a block land in eight
 * lanes; Q4_K rows sixteen at a time for 512-bit registers.  The file's
 * pages are released after the copy, so memory stays at one copy.
 */
#ifndef YT_ENGINE_REPACK_H
#define YT_ENGINE_REPACK_H

#include <stddef.h>
#include <stdint.h>

struct mtensor;

#define RP_NONE		0
#define RP_Q4_0X8	1	/* struct rp_q4_0x8 blocks */
#define RP_Q8_0X8	2	/* struct rp_q8_0x8 blocks */
#define RP_Q4_KX16	3	/* struct rp_q4_K_x16 blocks */

/*
 * Eight Q4_0 blocks (one per row) of the same column range: the eight
 * scales, then 4 chunks of 32 bytes, chunk c holding bytes 4c..4c+3 of
 * each row's 16 nibble bytes, row after row.  Low nibbles are elements
 * 4c..4c+3, high nibbles 16+4c..16+4c+3.
 */
struct rp_q4_0x8 {
	uint16_t	d[8];
	uint8_t		qs[128];
};

/*
 * Eight Q8_0 blocks of the same column range: the eight scales, then 8
 * chunks of 32 bytes, chunk c holding quants 4c..4c+3 of each row, row
 * after row, each stored as q ^ 0x80 = q + 128: unsigned, as vpdpbusd
 * wants its weights.
 */
struct rp_q8_0x8 {
	uint16_t	d[8];
	uint8_t		qs[256];
};

/*
 * Sixteen Q4_K blocks (one per row) of the same 256 columns, no bigger
 * than the sixteen: qs[j][g] holds bytes 4g..4g+3 of each row's 32 nibble
 * bytes of 64-chunk j, row after row (64 bytes, a 512-bit register with
 * row r in int32 lane r; low nibbles are elements 64j + 4g.., high ones
 * 64j + 32 + 4g..); sc[k] holds dword k of each row's 12 scale bytes;
 * then the rows' d and dmin.
 */
struct rp_q4_K_x16 {
	uint8_t		qs[4][8][64];
	uint32_t	sc[3][16];
	uint16_t	d[16];
	uint16_t	dmin[16];
};

/* Repack w if a kernel wants it (Q4_0 with AVX2, Q8_0 with AVX512-VNNI,
 * rows a multiple of 8; Q4_K with AVX2, rows a multiple of 16,
 * where matmul uses the repacked orders): fills w->rp and w->rp_kind,
 * returns the bytes allocated (0 if not repacked), or -1 on OOM. */
long	repack_tensor(struct mtensor *w, int release_source);
void	repack_free(struct mtensor *w);
/* Row `row` of a repacked w as floats (w->ne0 of them), the same as the
 * file's row converts to; -1 if w is not repacked. */
int	repack_row_f32(const struct mtensor *w, int64_t row, float *out);

#endif
