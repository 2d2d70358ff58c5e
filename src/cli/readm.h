/*
 * readm.h — `bacsc readm`: printing a ReadPropertyMultiple-ACK, and the
 * whole-device read (`bacsc readm DEVICE all [PROPS]`, readm_all.c).
 */
#ifndef BACSC_CLI_READM_H
#define BACSC_CLI_READM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/services.h"
#include "sc_tool.h"

/* Print every result of an RPM-ACK: text lines on stdout, or (arr not NULL)
 * one JSON object per result appended to arr. Returns 0, or -1 when the ACK
 * does not decode (nothing printed). */
int readm_print_ack(const uint8_t *ack, size_t len, json_t *arr);

/*
 * Read every object of a device: its Object_List (whole, or element by
 * element when the device cannot send it in one answer), then the
 * properties `refs` of each object with as many ReadPropertyMultiple
 * requests as needed, each sized to fit the device's Max_APDU, a few in
 * flight at once; a batch whose answer the device cannot send (Abort
 * segmentation-not-supported / buffer-overflow) is split in two. Output in
 * Object_List order. Returns the exit code (5 when some objects could not
 * be read).
 */
int readm_all_main(sc_tool *t, const bacsc_rpm_ref *refs, size_t nrefs, const char *props_text);

#endif
