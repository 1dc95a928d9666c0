//go:build amd64 && !purego

#include "textflag.h"

// salsa16AVX512 makes 16 Salsa20 blocks at once, one block in each of
// the 16 32-bit lanes of the ZMM registers; salsa16Generic (salsa.go) is
// its Go reference and FuzzSalsa16 holds the two equal. The macros below
// are its steps, in order; each names the registers it reads and writes.

// lanes<> is 0, 1, ..., 15: the block offsets of the 16 lanes.
DATA lanes<>+0x00(SB)/4, $0
DATA lanes<>+0x04(SB)/4, $1
DATA lanes<>+0x08(SB)/4, $2
DATA lanes<>+0x0c(SB)/4, $3
DATA lanes<>+0x10(SB)/4, $4
DATA lanes<>+0x14(SB)/4, $5
DATA lanes<>+0x18(SB)/4, $6
DATA lanes<>+0x1c(SB)/4, $7
DATA lanes<>+0x20(SB)/4, $8
DATA lanes<>+0x24(SB)/4, $9
DATA lanes<>+0x28(SB)/4, $10
DATA lanes<>+0x2c(SB)/4, $11
DATA lanes<>+0x30(SB)/4, $12
DATA lanes<>+0x34(SB)/4, $13
DATA lanes<>+0x38(SB)/4, $14
DATA lanes<>+0x3c(SB)/4, $15
GLOBL lanes<>(SB), RODATA|NOPTR, $64

// LOAD_STATE sets Zi (i = 0..15) to word i of the input block at (SI) in
// every lane, and adds the lane number to Z8, the block counter: lane k
// holds the input of block k.
#define LOAD_STATE \
	VPBROADCASTD 0(SI), Z0; \
	VPBROADCASTD 4(SI), Z1; \
	VPBROADCASTD 8(SI), Z2; \
	VPBROADCASTD 12(SI), Z3; \
	VPBROADCASTD 16(SI), Z4; \
	VPBROADCASTD 20(SI), Z5; \
	VPBROADCASTD 24(SI), Z6; \
	VPBROADCASTD 28(SI), Z7; \
	VPBROADCASTD 32(SI), Z8; \
	VPBROADCASTD 36(SI), Z9; \
	VPBROADCASTD 40(SI), Z10; \
	VPBROADCASTD 44(SI), Z11; \
	VPBROADCASTD 48(SI), Z12; \
	VPBROADCASTD 52(SI), Z13; \
	VPBROADCASTD 56(SI), Z14; \
	VPBROADCASTD 60(SI), Z15; \
	VPADDD lanes<>(SB), Z8, Z8

// STEP is one step of four independent quarter-rounds:
// b ^= (a + d) <<< r, for four (a, d, b) at once. Z16-Z19 are scratch.
#define STEP(a0, d0, b0, a1, d1, b1, a2, d2, b2, a3, d3, b3, r) \
	VPADDD a0, d0, Z16; \
	VPADDD a1, d1, Z17; \
	VPADDD a2, d2, Z18; \
	VPADDD a3, d3, Z19; \
	VPROLD r, Z16, Z16; \
	VPROLD r, Z17, Z17; \
	VPROLD r, Z18, Z18; \
	VPROLD r, Z19, Z19; \
	VPXORD Z16, b0, b0; \
	VPXORD Z17, b1, b1; \
	VPXORD Z18, b2, b2; \
	VPXORD Z19, b3, b3

// COLUMN_ROUND is Salsa20's column round on Z0-Z15: the quarter-rounds
// of (0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6) and (15, 3, 7, 11), in
// four STEPs (rotations 7, 9, 13, 18); quarter in salsa.go is one column.
#define COLUMN_ROUND \
	STEP(Z0, Z12, Z4, Z5, Z1, Z9, Z10, Z6, Z14, Z15, Z11, Z3, $7); \
	STEP(Z4, Z0, Z8, Z9, Z5, Z13, Z14, Z10, Z2, Z3, Z15, Z7, $9); \
	STEP(Z8, Z4, Z12, Z13, Z9, Z1, Z2, Z14, Z6, Z7, Z3, Z11, $13); \
	STEP(Z12, Z8, Z0, Z1, Z13, Z5, Z6, Z2, Z10, Z11, Z7, Z15, $18)

// ROW_ROUND is Salsa20's row round on Z0-Z15: the quarter-rounds of
// (0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9) and (15, 12, 13, 14).
#define ROW_ROUND \
	STEP(Z0, Z3, Z1, Z5, Z4, Z6, Z10, Z9, Z11, Z15, Z14, Z12, $7); \
	STEP(Z1, Z0, Z2, Z6, Z5, Z7, Z11, Z10, Z8, Z12, Z15, Z13, $9); \
	STEP(Z2, Z1, Z3, Z7, Z6, Z4, Z8, Z11, Z9, Z13, Z12, Z14, $13); \
	STEP(Z3, Z2, Z0, Z4, Z7, Z5, Z9, Z8, Z10, Z14, Z13, Z15, $18)

// ADD_WORD adds word i of the input block at (SI), in every lane, to
// register z. Z16 is scratch.
#define ADD_WORD(off, z) \
	VPBROADCASTD off(SI), Z16; \
	VPADDD Z16, z, z

// ADD_STATE adds the input blocks to Z0-Z15, as LOAD_STATE made them:
// word 8 plus the lane number.
#define ADD_STATE \
	ADD_WORD(0, Z0); \
	ADD_WORD(4, Z1); \
	ADD_WORD(8, Z2); \
	ADD_WORD(12, Z3); \
	ADD_WORD(16, Z4); \
	ADD_WORD(20, Z5); \
	ADD_WORD(24, Z6); \
	ADD_WORD(28, Z7); \
	VPBROADCASTD 32(SI), Z16; \
	VPADDD lanes<>(SB), Z16, Z16; \
	VPADDD Z16, Z8, Z8; \
	ADD_WORD(36, Z9); \
	ADD_WORD(40, Z10); \
	ADD_WORD(44, Z11); \
	ADD_WORD(48, Z12); \
	ADD_WORD(52, Z13); \
	ADD_WORD(56, Z14); \
	ADD_WORD(60, Z15)

// TRANSPOSE_IN_SEGMENTS transposes the 4x4 words within each 128-bit
// segment k (blocks 4k to 4k+3) of every four registers: words
// interleaved in pairs (into Z16-Z31), then in fours (back into
// Z0-Z15). After it, Zi (i = 4w + r) holds, in segment k, words 4w to
// 4w+3 of block 4k+r.
#define TRANSPOSE_IN_SEGMENTS \
	VPUNPCKLDQ Z1, Z0, Z16; \
	VPUNPCKHDQ Z1, Z0, Z17; \
	VPUNPCKLDQ Z3, Z2, Z18; \
	VPUNPCKHDQ Z3, Z2, Z19; \
	VPUNPCKLDQ Z5, Z4, Z20; \
	VPUNPCKHDQ Z5, Z4, Z21; \
	VPUNPCKLDQ Z7, Z6, Z22; \
	VPUNPCKHDQ Z7, Z6, Z23; \
	VPUNPCKLDQ Z9, Z8, Z24; \
	VPUNPCKHDQ Z9, Z8, Z25; \
	VPUNPCKLDQ Z11, Z10, Z26; \
	VPUNPCKHDQ Z11, Z10, Z27; \
	VPUNPCKLDQ Z13, Z12, Z28; \
	VPUNPCKHDQ Z13, Z12, Z29; \
	VPUNPCKLDQ Z15, Z14, Z30; \
	VPUNPCKHDQ Z15, Z14, Z31; \
	VPUNPCKLQDQ Z18, Z16, Z0; \
	VPUNPCKHQDQ Z18, Z16, Z1; \
	VPUNPCKLQDQ Z19, Z17, Z2; \
	VPUNPCKHQDQ Z19, Z17, Z3; \
	VPUNPCKLQDQ Z22, Z20, Z4; \
	VPUNPCKHQDQ Z22, Z20, Z5; \
	VPUNPCKLQDQ Z23, Z21, Z6; \
	VPUNPCKHQDQ Z23, Z21, Z7; \
	VPUNPCKLQDQ Z26, Z24, Z8; \
	VPUNPCKHQDQ Z26, Z24, Z9; \
	VPUNPCKLQDQ Z27, Z25, Z10; \
	VPUNPCKHQDQ Z27, Z25, Z11; \
	VPUNPCKLQDQ Z30, Z28, Z12; \
	VPUNPCKHQDQ Z30, Z28, Z13; \
	VPUNPCKLQDQ Z31, Z29, Z14; \
	VPUNPCKHQDQ Z31, Z29, Z15

// PAIR_SEGMENTS takes the even (0x88) and odd (0xdd) segments of the
// register pairs (Z0, Z4), (Z8, Z12), (Z1, Z5), ... into Z16-Z31: the
// first half of the gathering of each block's four segments.
#define PAIR_SEGMENTS \
	VSHUFI32X4 $0x88, Z4, Z0, Z16; \
	VSHUFI32X4 $0xdd, Z4, Z0, Z17; \
	VSHUFI32X4 $0x88, Z12, Z8, Z18; \
	VSHUFI32X4 $0xdd, Z12, Z8, Z19; \
	VSHUFI32X4 $0x88, Z5, Z1, Z20; \
	VSHUFI32X4 $0xdd, Z5, Z1, Z21; \
	VSHUFI32X4 $0x88, Z13, Z9, Z22; \
	VSHUFI32X4 $0xdd, Z13, Z9, Z23; \
	VSHUFI32X4 $0x88, Z6, Z2, Z24; \
	VSHUFI32X4 $0xdd, Z6, Z2, Z25; \
	VSHUFI32X4 $0x88, Z14, Z10, Z26; \
	VSHUFI32X4 $0xdd, Z14, Z10, Z27; \
	VSHUFI32X4 $0x88, Z7, Z3, Z28; \
	VSHUFI32X4 $0xdd, Z7, Z3, Z29; \
	VSHUFI32X4 $0x88, Z15, Z11, Z30; \
	VSHUFI32X4 $0xdd, Z15, Z11, Z31

// STORE2 finishes two blocks from the pair (lo, hi) of PAIR_SEGMENTS'
// outputs: the even segments are one whole block, stored at offset a of
// (DI), the odd segments another, stored at b. Z0 is scratch.
#define STORE2(lo, hi, a, b) \
	VSHUFI32X4 $0x88, hi, lo, Z0; \
	VMOVDQU32 Z0, a(DI); \
	VSHUFI32X4 $0xdd, hi, lo, Z0; \
	VMOVDQU32 Z0, b(DI)

// STORE_BLOCKS stores the 16 blocks that PAIR_SEGMENTS left in Z16-Z31,
// block k at 64·k.
#define STORE_BLOCKS \
	STORE2(Z16, Z18, 0, 512); \
	STORE2(Z17, Z19, 256, 768); \
	STORE2(Z20, Z22, 64, 576); \
	STORE2(Z21, Z23, 320, 832); \
	STORE2(Z24, Z26, 128, 640); \
	STORE2(Z25, Z27, 384, 896); \
	STORE2(Z28, Z30, 192, 704); \
	STORE2(Z29, Z31, 448, 960)

// func salsa16AVX512(out *[1024]byte, block *[16]uint32)
//
// Contract: as salsa16Generic. out[64·i:64·i+64] is the Salsa20 block of
// block with word 8 plus i (mod 2³²), for i = 0..15; block is not
// changed. Needs AVX-512F.
//
// Registers: DI out, SI block, CX the double rounds left. Z0-Z15 the 16
// state words, Zi word i of all 16 blocks, block k in 32-bit lane k.
// Z16-Z19 scratch of the rounds; Z16-Z31 scratch of the transposition.
//
// Steps:
//  1. LOAD_STATE: broadcast the block's words, lane k's counter + k.
//  2. Ten double rounds: COLUMN_ROUND, ROW_ROUND.
//  3. ADD_STATE: add the input blocks (the feed-forward).
//  4. TRANSPOSE_IN_SEGMENTS, PAIR_SEGMENTS, STORE_BLOCKS: turn 16
//     registers of one word each into 16 registers of one block each,
//     and store them in block order.
TEXT ·salsa16AVX512(SB), NOSPLIT, $0-16
	MOVQ out+0(FP), DI
	MOVQ block+8(FP), SI
	LOAD_STATE
	MOVQ $10, CX

rounds:
	COLUMN_ROUND
	ROW_ROUND
	DECQ CX
	JNZ  rounds

	ADD_STATE
	TRANSPOSE_IN_SEGMENTS
	PAIR_SEGMENTS
	STORE_BLOCKS
	VZEROUPPER
	RET
