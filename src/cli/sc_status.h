/* sc_status.h — JSON status of hub servers and nodes for status files
 * (`bacsc hub` / `bacsc device` on SIGUSR1, read by `bacsc status`). */
#ifndef BACSC_CLI_SC_STATUS_H
#define BACSC_CLI_SC_STATUS_H

#include <jansson.h>

#include "bacsc/loop.h"
#include "bacsc/sc_hubd.h"
#include "bacsc/sc_node.h"

/* {"connected": n, "peers": [{"vmac","uuid","address","since","connected",
 *  "rx_msgs","tx_msgs"}...], "stats": {...}} (new reference). */
json_t *sc_status_hubd(const bacsc_loop *loop, const bacsc_hubd *h);

/* {"vmac","state","state_name","hub_peer","primary":{...},"failover":{...},
 *  "stats":{...}} (new reference). */
json_t *sc_status_node(const bacsc_loop *loop, const bacsc_sc_node *n);

#endif
