/*
 * roles.h - the self-checking values written by the churn role.
 */
#ifndef SHARED_ROLES_H
#define SHARED_ROLES_H

#include <stdint.h>

/* Fills buf with churn value number i; returns its length. */
uint32_t churn_value(unsigned char *buf, uint64_t i);

/* 1 if buf/len is a whole churn value (its number in *i), else 0. */
int churn_check(const unsigned char *buf, uint32_t len, uint64_t *i);

#endif /* SHARED_ROLES_H */
