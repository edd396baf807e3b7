/*
 * compat.h
 *		Every PostgreSQL-version conditional of the extension, in one place.
 *
 * territory is built for PostgreSQL 15; newer versions are added here, never with #if blocks
 * scattered through the components.
 */
#ifndef TERRITORY_COMPAT_H
#define TERRITORY_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "territory requires PostgreSQL 15 or later"
#endif

#endif							/* TERRITORY_COMPAT_H */
