/* The metadata a VM reads from http://169.254.169.254/, as a pure function
 * of its record and the request path:
 *
 *   /                         2009-04-04, latest
 *   /2009-04-04/ and /latest/ meta-data/, user-data (when there is some)
 *     meta-data/              hostname, instance-id, local-hostname,
 *                             local-ipv4, public-keys/ (when there are keys)
 *                             (instance-id in EC2's form: "i-" and the
 *                             record's, unless that starts with "i-")
 *     meta-data/public-keys/  "0=minivmm-0" ... one line per key
 *     meta-data/public-keys/N/             openssh-key
 *     meta-data/public-keys/N/openssh-key  key N and a newline
 *     user-data               as given (404 without user-data, as EC2)
 *   /nocloud/                 meta-data, user-data, vendor-data
 *     meta-data               YAML: instance-id, local-hostname, public-keys
 *     user-data, vendor-data  as given (empty when none: NoCloud needs them)
 *
 * That is the EC2 layout CirrOS and cloud-init's Ec2 data source read, and
 * the NoCloud seed cloud-init fetches when the SMBIOS serial says
 * "ds=nocloud;s=http://169.254.169.254/nocloud/". A directory answers with
 * or without its trailing slash. Anything else is 404. */
#ifndef MINIVMM_NET_MDATA_TREE_H
#define MINIVMM_NET_MDATA_TREE_H

#include <stddef.h>

#define MDATA_ID_MAX      64	/* instance-id and hostname, with the NUL */
#define MDATA_KEYS_MAX    16	/* SSH keys served */
#define MDATA_KEYS_BYTES  16384	/* the SSH key text */
#define MDATA_SCRATCH     (MDATA_KEYS_BYTES * 2 + 512)	/* generated bodies */

/* One VM's record (net/mdata_record.h reads it from the state directory). */
struct mdata_vm {
	char instance_id[MDATA_ID_MAX];	/* the VM's UUID */
	char hostname[MDATA_ID_MAX];
	char local_ipv4[16];		/* its lease's address; "" if unknown */
	/* authorized_keys text: one key a line, '#' comments and blank lines
	 * skipped; NULL: none. At most MDATA_KEYS_BYTES. */
	const char *ssh_keys;
	size_t ssh_keys_len;
	const char *user_data;		/* NULL: none */
	size_t user_data_len;
	const char *vendor_data;	/* NULL: none */
	size_t vendor_data_len;
};

struct mdata_reply {
	int status;			/* 200 or 404 */
	const char *content_type;
	const char *body;		/* into the record, a constant, or scratch */
	size_t body_len;
	char scratch[MDATA_SCRATCH];
};

/* Fills *out for path (decoded, as http_req_parse() gives it). */
void mdata_tree_get(const struct mdata_vm *vm, const char *path, struct mdata_reply *out);

#endif
