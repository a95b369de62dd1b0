# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_fwrepo_server_global_optspecs
    string join \n config= data-dir= listen= public-url= http-threads= log-json max-upload-bytes= pending-upload-ttl-secs= sweep-interval-secs= sweep-grace-secs= retention-interval-secs= token-lifetime-secs= session-idle-secs= session-max-secs= store= s3-endpoint= s3-bucket= s3-region= s3-credentials-file= s3-prefix= s3-part-size-bytes= downloads= redirect-min-bytes= presign-ttl-secs= stale-temp-secs= h/help V/version
end

function __fish_fwrepo_server_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_fwrepo_server_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_fwrepo_server_using_subcommand
    set -l cmd (__fish_fwrepo_server_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l config -d 'TOML config file (see fwrepo-server.example.toml)' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l listen -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l public-url -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l http-threads -d 'Threads that run HTTP connections (0: one per core)' -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l max-upload-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l pending-upload-ttl-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l sweep-interval-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l sweep-grace-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l retention-interval-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l token-lifetime-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l session-idle-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l session-max-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l store -d 'Where blobs live: fs (under the data dir) or s3' -r -f -a "fs\t''
s3\t''"
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l s3-endpoint -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l s3-bucket -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l s3-region -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l s3-credentials-file -d 'TOML file with access_key_id and secret_access_key' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l s3-prefix -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l s3-part-size-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l downloads -r -f -a "proxy\t'Bytes go through fwrepo (with `Range`)'
redirect\t'`307` to a short-lived presigned URL of the store, after fwrepo authorised the caller'"
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l redirect-min-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l presign-ttl-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l stale-temp-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -l log-json -d 'JSON log lines'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -s V -l version -d 'Print version'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -f -a "serve" -d 'Serve the API (the default with no subcommand)'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -f -a "client" -d 'Manage OAuth clients offline (the server must not be running on the data dir)'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -f -a "user" -d 'Manage people\'s accounts offline (the server must not be running on the data dir)'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -f -a "fsck" -d 'Verify a stopped server\'s blobs and metadata; `--repair` fixes what is safe'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -f -a "backup" -d 'Write an online backup of the server running on the data dir (metadata checkpoint, and the blobs of a filesystem store)'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -f -a "restore" -d 'Make a fresh data dir from a backup (the server must not be running on it)'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -f -a "blobs" -d 'Blob store maintenance: `migrate --to s3` (server stopped)'
complete -c fwrepo-server -n "__fish_fwrepo_server_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l config -d 'TOML config file (see fwrepo-server.example.toml)' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l listen -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l public-url -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l http-threads -d 'Threads that run HTTP connections (0: one per core)' -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l max-upload-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l pending-upload-ttl-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l sweep-interval-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l sweep-grace-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l retention-interval-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l token-lifetime-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l session-idle-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l session-max-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l store -d 'Where blobs live: fs (under the data dir) or s3' -r -f -a "fs\t''
s3\t''"
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l s3-endpoint -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l s3-bucket -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l s3-region -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l s3-credentials-file -d 'TOML file with access_key_id and secret_access_key' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l s3-prefix -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l s3-part-size-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l downloads -r -f -a "proxy\t'Bytes go through fwrepo (with `Range`)'
redirect\t'`307` to a short-lived presigned URL of the store, after fwrepo authorised the caller'"
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l redirect-min-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l presign-ttl-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l stale-temp-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -l log-json -d 'JSON log lines'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Create a client; prints its secret once'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List clients (never their secrets)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke a client: its tokens stop working'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from create" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from create" -l partner -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from create" -l scope -d 'ota:read, ota:write or admin; repeat for several' -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from create" -l json
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from list" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from list" -l json
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from revoke" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a client; prints its secret once'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from help" -f -a "list" -d 'List clients (never their secrets)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a client: its tokens stop working'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand client; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and not __fish_seen_subcommand_from create list disable enable help" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and not __fish_seen_subcommand_from create list disable enable help" -f -a "create" -d 'Create a user; the password is prompted for (twice), or read from stdin\'s first line'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and not __fish_seen_subcommand_from create list disable enable help" -f -a "list" -d 'List users (never their password hashes)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and not __fish_seen_subcommand_from create list disable enable help" -f -a "disable" -d 'Disable a user: sign-in is refused and its sessions end'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and not __fish_seen_subcommand_from create list disable enable help" -f -a "enable" -d 'Enable a disabled user again'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and not __fish_seen_subcommand_from create list disable enable help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from create" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from create" -l partner -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from create" -l username -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from create" -l role -d 'viewer (ota:read), maintainer (ota:write) or admin' -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from create" -l json
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from list" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from list" -l partner -d 'Only this partner\'s users' -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from list" -l json
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from disable" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from enable" -l data-dir -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a user; the password is prompted for (twice), or read from stdin\'s first line'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "list" -d 'List users (never their password hashes)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Disable a user: sign-in is refused and its sessions end'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Enable a disabled user again'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l config -d 'The stopped server\'s config file (for its data dir and `[store]`)' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l data-dir -d 'The data directory of a stopped server (default: the config\'s, else ./fwrepo-data)' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l store -d 'Where blobs live: fs (under the data dir) or s3' -r -f -a "fs\t''
s3\t''"
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l s3-endpoint -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l s3-bucket -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l s3-region -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l s3-credentials-file -d 'TOML file with access_key_id and secret_access_key' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l s3-prefix -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l s3-part-size-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l downloads -r -f -a "proxy\t'Bytes go through fwrepo (with `Range`)'
redirect\t'`307` to a short-lived presigned URL of the store, after fwrepo authorised the caller'"
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l redirect-min-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l presign-ttl-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l stale-temp-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l repair -d 'Fix what is safe to fix (see the module documentation); report the rest'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -l json -d 'One JSON report on stdout'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand fsck" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand backup" -l to -d 'Directory to write the backup into: absent (its parent exists) or empty' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand backup" -l data-dir -d 'Data directory of the running server (its control socket is there)' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand backup" -l json -d 'Print the backup\'s manifest as JSON'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand backup" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand restore" -l from -d 'A backup directory written by `fwrepo-server backup`' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand restore" -l data-dir -d 'The data directory to create: absent or empty' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand restore" -l json -d 'One JSON report on stdout'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand restore" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and not __fish_seen_subcommand_from migrate help" -s h -l help -d 'Print help'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and not __fish_seen_subcommand_from migrate help" -f -a "migrate" -d 'Copy every blob of a stopped server\'s filesystem store into the object store `[store]` configures; resumable (blobs already there with their size are skipped)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and not __fish_seen_subcommand_from migrate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l to -d 'The destination backend (its settings come from `[store]` and the store flags)' -r -f -a "fs\t''
s3\t''"
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l config -d 'The stopped server\'s config file (its data dir and `[store]`)' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l data-dir -d 'The data directory of the stopped server (default: the config\'s, else ./fwrepo-data)' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l store -d 'Where blobs live: fs (under the data dir) or s3' -r -f -a "fs\t''
s3\t''"
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l s3-endpoint -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l s3-bucket -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l s3-region -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l s3-credentials-file -d 'TOML file with access_key_id and secret_access_key' -r -F
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l s3-prefix -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l s3-part-size-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l downloads -r -f -a "proxy\t'Bytes go through fwrepo (with `Range`)'
redirect\t'`307` to a short-lived presigned URL of the store, after fwrepo authorised the caller'"
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l redirect-min-bytes -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l presign-ttl-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l stale-temp-secs -r
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -l json -d 'One JSON report on stdout instead of a line per blob'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Copy every blob of a stopped server\'s filesystem store into the object store `[store]` configures; resumable (blobs already there with their size are skipped)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand blobs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and not __fish_seen_subcommand_from serve client user fsck backup restore blobs help" -f -a "serve" -d 'Serve the API (the default with no subcommand)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and not __fish_seen_subcommand_from serve client user fsck backup restore blobs help" -f -a "client" -d 'Manage OAuth clients offline (the server must not be running on the data dir)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and not __fish_seen_subcommand_from serve client user fsck backup restore blobs help" -f -a "user" -d 'Manage people\'s accounts offline (the server must not be running on the data dir)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and not __fish_seen_subcommand_from serve client user fsck backup restore blobs help" -f -a "fsck" -d 'Verify a stopped server\'s blobs and metadata; `--repair` fixes what is safe'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and not __fish_seen_subcommand_from serve client user fsck backup restore blobs help" -f -a "backup" -d 'Write an online backup of the server running on the data dir (metadata checkpoint, and the blobs of a filesystem store)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and not __fish_seen_subcommand_from serve client user fsck backup restore blobs help" -f -a "restore" -d 'Make a fresh data dir from a backup (the server must not be running on it)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and not __fish_seen_subcommand_from serve client user fsck backup restore blobs help" -f -a "blobs" -d 'Blob store maintenance: `migrate --to s3` (server stopped)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and not __fish_seen_subcommand_from serve client user fsck backup restore blobs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and __fish_seen_subcommand_from client" -f -a "create" -d 'Create a client; prints its secret once'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and __fish_seen_subcommand_from client" -f -a "list" -d 'List clients (never their secrets)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and __fish_seen_subcommand_from client" -f -a "revoke" -d 'Revoke a client: its tokens stop working'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "create" -d 'Create a user; the password is prompted for (twice), or read from stdin\'s first line'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "list" -d 'List users (never their password hashes)'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "disable" -d 'Disable a user: sign-in is refused and its sessions end'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "enable" -d 'Enable a disabled user again'
complete -c fwrepo-server -n "__fish_fwrepo_server_using_subcommand help; and __fish_seen_subcommand_from blobs" -f -a "migrate" -d 'Copy every blob of a stopped server\'s filesystem store into the object store `[store]` configures; resumable (blobs already there with their size are skipped)'
