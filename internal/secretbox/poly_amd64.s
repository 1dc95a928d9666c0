//go:build amd64 && !purego

#include "textflag.h"

// polyVecAVX512 runs Poly1305 over eight blocks at once, one block in
// each 64-bit lane of the ZMM registers, in 26-bit limbs; polyVecGeneric
// (poly.go) is its Go reference, step for step, and FuzzPolyVec holds
// the two equal. The macros below are its steps, in order.

// LOAD_POWERS broadcasts the limbs of r⁸ from the polyPowers at (DX):
// r⁸ limbs 0-4 into Z5-Z9, 5·r⁸ limbs 1-4 into Z10-Z13 (5·limb 0 is
// never needed). Z14 is the 26-bit mask, Z15 2²⁴ (a block's 2¹²⁸ in
// limb 4).
#define LOAD_POWERS \
	MOVQ $0x3ffffff, AX; \
	VPBROADCASTQ AX, Z14; \
	MOVQ $0x1000000, AX; \
	VPBROADCASTQ AX, Z15; \
	VPBROADCASTQ 0(DX), Z5; \
	VPBROADCASTQ 8(DX), Z6; \
	VPBROADCASTQ 16(DX), Z7; \
	VPBROADCASTQ 24(DX), Z8; \
	VPBROADCASTQ 32(DX), Z9; \
	VPBROADCASTQ 48(DX), Z10; \
	VPBROADCASTQ 56(DX), Z11; \
	VPBROADCASTQ 64(DX), Z12; \
	VPBROADCASTQ 72(DX), Z13

// ABSORB adds the group of eight blocks at (SI) to the accumulators
// Z0-Z4 and moves SI past it. Z16 holds blocks 0-3 and Z17 blocks 4-7,
// each block two 64-bit halves; unpacking them puts the low halves in
// Z18 and the high halves in Z19, lane by lane the blocks 0, 4, 1, 5, 2,
// 6, 3, 7 (blockLane in poly.go). Each lane's 128 bits then split into
// five 26-bit limbs (Z20-Z24), limb 4 with 2²⁴ set, as addBlock26 does.
#define ABSORB \
	VMOVDQU64 (SI), Z16; \
	VMOVDQU64 64(SI), Z17; \
	ADDQ $128, SI; \
	VPUNPCKLQDQ Z17, Z16, Z18; \
	VPUNPCKHQDQ Z17, Z16, Z19; \
	VPANDQ Z14, Z18, Z20; \
	VPSRLQ $26, Z18, Z21; \
	VPANDQ Z14, Z21, Z21; \
	VPSRLQ $52, Z18, Z22; \
	VPSLLQ $12, Z19, Z23; \
	VPORQ Z23, Z22, Z22; \
	VPANDQ Z14, Z22, Z22; \
	VPSRLQ $14, Z19, Z23; \
	VPANDQ Z14, Z23, Z23; \
	VPSRLQ $40, Z19, Z24; \
	VPORQ Z15, Z24, Z24; \
	VPADDQ Z20, Z0, Z0; \
	VPADDQ Z21, Z1, Z1; \
	VPADDQ Z22, Z2, Z2; \
	VPADDQ Z23, Z3, Z3; \
	VPADDQ Z24, Z4, Z4

// PRODUCT sets d to the sum of five limb products a·b (VPMULUDQ: the low
// 32 bits of each factor), using t as scratch.
#define PRODUCT(d, t, a0, b0, a1, b1, a2, b2, a3, b3, a4, b4) \
	VPMULUDQ a0, b0, d; \
	VPMULUDQ a1, b1, t; \
	VPADDQ t, d, d; \
	VPMULUDQ a2, b2, t; \
	VPADDQ t, d, d; \
	VPMULUDQ a3, b3, t; \
	VPADDQ t, d, d; \
	VPMULUDQ a4, b4, t; \
	VPADDQ t, d, d

// MUL_R8 sets Z16-Z20 (d0-d4) to the limb products of h (Z0-Z4) and r⁸,
// as mulR8 in poly.go: dn = sum of hi·r(n-i), with 5·r(n-i+5) where
// n-i < 0. Z21 is scratch.
#define MUL_R8 \
	PRODUCT(Z16, Z21, Z5, Z0, Z13, Z1, Z12, Z2, Z11, Z3, Z10, Z4); \
	PRODUCT(Z17, Z21, Z6, Z0, Z5, Z1, Z13, Z2, Z12, Z3, Z11, Z4); \
	PRODUCT(Z18, Z21, Z7, Z0, Z6, Z1, Z5, Z2, Z13, Z3, Z12, Z4); \
	PRODUCT(Z19, Z21, Z8, Z0, Z7, Z1, Z6, Z2, Z5, Z3, Z13, Z4); \
	PRODUCT(Z20, Z21, Z9, Z0, Z8, Z1, Z7, Z2, Z6, Z3, Z5, Z4)

// CARRY reduces d0-d4 (Z16-Z20) back into h (Z0-Z4), as the end of
// mulR8: carries from limb 0 up to 4, the carry out of limb 4 times 5
// (2¹³⁰ ≡ 5) into limb 0, and limb 0's carry into limb 1. Z21 and Z22
// are scratch.
#define CARRY \
	VPSRLQ $26, Z16, Z21; \
	VPANDQ Z14, Z16, Z16; \
	VPADDQ Z21, Z17, Z17; \
	VPSRLQ $26, Z17, Z21; \
	VPANDQ Z14, Z17, Z17; \
	VPADDQ Z21, Z18, Z18; \
	VPSRLQ $26, Z18, Z21; \
	VPANDQ Z14, Z18, Z18; \
	VPADDQ Z21, Z19, Z19; \
	VPSRLQ $26, Z19, Z21; \
	VPANDQ Z14, Z19, Z19; \
	VPADDQ Z21, Z20, Z20; \
	VPSRLQ $26, Z20, Z21; \
	VPANDQ Z14, Z20, Z4; \
	VPSLLQ $2, Z21, Z22; \
	VPADDQ Z22, Z21, Z21; \
	VPADDQ Z21, Z16, Z16; \
	VPSRLQ $26, Z16, Z21; \
	VPANDQ Z14, Z16, Z0; \
	VPADDQ Z21, Z17, Z1; \
	VMOVDQA64 Z18, Z2; \
	VMOVDQA64 Z19, Z3

// func polyVecAVX512(lanes *[5][8]uint64, msg []byte, k *polyPowers)
//
// Contract: as polyVecGeneric. len(msg) is a multiple of 128 and at
// least 128 (the caller's; 0 would loop past msg). Starting from zero,
// each lane accumulates h = h·r⁸ + block over the groups, r⁸ skipped
// after the last group, and lanes[limb][lane] gets the limbs. Limb
// products stay below 2⁵⁸ for limbs as poly.go makes them, so five add
// up in 64 bits. Needs AVX-512F.
//
// Registers: DI lanes, SI msg, CX groups left, DX k, AX scratch.
// Z0-Z4 h, limb i of all eight lanes in Zi. Z5-Z9 r⁸, Z10-Z13 5·r⁸
// limbs 1-4, Z14 the 26-bit mask, Z15 2²⁴. Z16-Z24 scratch.
//
// Steps:
//  1. LOAD_POWERS; h = 0.
//  2. For each group: ABSORB (h += block); if it was the last, stop;
//     else MUL_R8 and CARRY (h = h·r⁸, partly reduced).
//  3. Store Z0-Z4 to lanes.
TEXT ·polyVecAVX512(SB), NOSPLIT, $0-40
	MOVQ lanes+0(FP), DI
	MOVQ msg_base+8(FP), SI
	MOVQ msg_len+16(FP), CX
	SHRQ $7, CX
	MOVQ k+32(FP), DX
	LOAD_POWERS
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4

loop:
	ABSORB
	DECQ CX
	JZ   last
	MUL_R8
	CARRY
	JMP  loop

last:
	VMOVDQU64 Z0, 0(DI)
	VMOVDQU64 Z1, 64(DI)
	VMOVDQU64 Z2, 128(DI)
	VMOVDQU64 Z3, 192(DI)
	VMOVDQU64 Z4, 256(DI)
	VZEROUPPER
	RET
