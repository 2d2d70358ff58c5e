/*
 * site_revoke.h — after `bacsc site import`: revoke (reason superseded) the
 * certificates an import replaced, once their successors are confirmed
 * active on the devices, or keep them (--keep-old).
 */
#ifndef BACSC_CLI_SITE_REVOKE_H
#define BACSC_CLI_SITE_REVOKE_H

#include <stdbool.h>

#include <jansson.h>

#include "bacsc/site.h"

/*
 * Handle every superseded certificate still pending: with keep_old mark it
 * kept; with ca_dir revoke it in that CA (one not issued there is kept with
 * a note); without either, say how to revoke it. Messages go to stderr
 * unless quiet; with `jout` a JSON array of outcomes is returned there.
 * Returns the number that could not be handled (0 = all done).
 */
int site_revoke_superseded(bacsc_site *s, const char *prog, const char *ca_dir, bool keep_old,
                           bool quiet, json_t **jout);

#endif
