# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_fwrepo_global_optspecs
    string join \n url= partner= client-id= client-secret= config= cache-dir= retries= q/quiet h/help V/version
end

function __fish_fwrepo_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_fwrepo_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_fwrepo_using_subcommand
    set -l cmd (__fish_fwrepo_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c fwrepo -n "__fish_fwrepo_needs_command" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_needs_command" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_needs_command" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_needs_command" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_needs_command" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_needs_command" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_needs_command" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_needs_command" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -s V -l version -d 'Print version'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "publish" -d 'Stamp, upload and register an artifact (the cargo package\'s binary when no FILE is given)'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "list" -d 'List pool records matching a query (alias: query)'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "pull" -d 'Download the newest matching binary (or an exact version number), verified and cached'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "stamp" -d 'Print the build\'s version, git and CI facts for a build script, CMake or a C header'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "verify" -d 'Check a binary against its pool record'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "audit" -d 'Print the partner\'s audit log, newest first (needs the admin scope)'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "provenance" -d 'Print a binary\'s signed build provenance (in-toto statement, SLSA provenance v1)'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "keygen" -d 'Make a minisign key pair for `publish --sign-key`'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "trust" -d 'The partner\'s trusted signing keys and protected tags (needs the admin scope)'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "retention" -d 'The partner\'s retention policy, its dry run and its runs (needs the admin scope)'
complete -c fwrepo -n "__fish_fwrepo_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l type -d 'Firmware type number' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l name -d 'Record name (default: the cargo binary / the file name without extension)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l description -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l version -d 'The semver to publish (default: the cargo package version)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l version-source -d 'Names where --version came from, for error messages (e.g. "CMake PROJECT_VERSION")' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l tag -d 'Extra tag (repeatable)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l device-type -d 'Associate the record with a device type id (repeatable)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l format -d 'Convert the artifact first: bin (objcopy -O binary), hex, or elf (as is)' -r -f -a "bin\t'Raw binary image (`objcopy -O binary`)'
hex\t'Intel hex (`objcopy -O ihex`)'
elf\t'The ELF as linked'"
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l untracked -d 'Whether untracked files make the tree dirty' -r -f -a "ignore\t'Untracked files do not count, as with `git describe --dirty` (default)'
dirty\t'Any untracked file makes the tree dirty'"
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l source-dir -d 'Directory whose git repository is stamped (default: the package / working directory)' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l sign-key -d 'Sign the binary and its build provenance with this minisign secret key (a file, or the key\'s text) and attach both to the binary [env: FWREPO_SIGN_KEY]. An encrypted key\'s password comes from FWREPO_SIGN_KEY_PASSWORD' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l provenance-out -d 'Also write the provenance statement (in-toto, SLSA provenance v1) to FILE' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -s p -l package -d 'Package to publish' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l bin -d 'Binary target (default: the package\'s only binary)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l profile -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l target -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l features -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l manifest-path -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l allow-republish -d 'Different bytes under an existing name+version become a new record `<version>+r<N>`'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l allow-failure -d 'Print a warning and exit 0 when publishing fails'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l skip-if-unconfigured -d 'Exit 0 with a one-line notice when no server URL is configured (for build hooks)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l create-type -d 'Create the firmware type when missing (needs the admin scope)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l json -d 'Print the outcome as JSON'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l no-provenance -d 'Sign the binary but attach no provenance statement'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l release
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -l build -d 'Run `cargo build` first (with the stamp in FWREPO_* environment variables)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand publish" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l type -d 'Firmware type number' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l tag -d 'Only records carrying this tag (repeatable; all must match)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l name -d 'Exact record name' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l version -d 'Exact version string' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l version-req -d 'Semver requirement, e.g. \'^1.2\' (records whose version is not semver are left out)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l commit -d 'Records built from a commit (hex prefix of at least 7 digits)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l sort -d 'Sort, `field,asc|desc` (id, createdTimestamp, updatedTimestamp, versionNumber, name, version, type)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l limit -d 'Stop after this many records' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l page-size -d 'Records per request (the server allows up to 1000)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l latest -d 'Only the newest record by semver precedence (ties: the higher versionNumber)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -l json -d 'Print a JSON array of pool records'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand list" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l type -d 'Firmware type number' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l tag -d 'Only records carrying this tag (repeatable; all must match)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l name -d 'Exact record name' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l version -d 'Exact version string' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l version-req -d 'Semver requirement, e.g. \'^1.2\' (records whose version is not semver are left out)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l commit -d 'Records built from a commit (hex prefix of at least 7 digits)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l version-number -d 'Exact record: its version number within --type' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -s o -l output -d 'Where to write the binary' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l trusted-key -d 'A minisign public key to trust: a .pub file or the base64 key (repeatable)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l latest -d 'Only the newest record by semver precedence (ties: the higher versionNumber)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l no-cache -d 'Neither read nor fill the local cache'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l json -d 'Print the outcome as JSON'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -l verify -d 'Refuse the binary (nothing written to --output) unless one of its signatures verifies with a --trusted-key'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand pull" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l format -r -f -a "rustc-env\t'`cargo:rustc-env=KEY=VALUE` lines for a build script'
cmake\t'`set(KEY "VALUE")` lines to `include()` from CMake'
c-header\t'A C header of `#define`s'
env\t'`KEY=VALUE` lines (shell, GitHub `$GITHUB_ENV`)'
json\t'Every fact as JSON'"
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l version -d 'The semver (default: the cargo package\'s version)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l version-source -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -s p -l package -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l manifest-path -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l source-dir -d 'Directory whose git repository is stamped (default: the working directory)' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l untracked -r -f -a "ignore\t'Untracked files do not count, as with `git describe --dirty` (default)'
dirty\t'Any untracked file makes the tree dirty'"
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -s o -l output -d 'Write to this file (only when the content changed, so builds stay incremental)' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand stamp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l type -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l version-number -d 'Compare against this exact record (needs --type)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l offline -d 'Only read the embedded stamp; do not ask the server'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -l json
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand verify" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l actor -d 'Only this actor (`client:<id>`, `user:<name>`, `device:<id>`, `server:<task>`)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l operation -d 'Only this operation (`METHOD /route/{template}`) or method (`DELETE`)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l record -d 'Only entries whose path or created record contains this, e.g. `pool/types/3/versionNumbers/17`' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l outcome -d 'Only `applied`, `refused` or `failed` requests' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l since -d 'From this time on (RFC 3339 or milliseconds since the epoch)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l until -d 'Up to this time (RFC 3339 or milliseconds since the epoch)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l limit -d 'Stop after this many entries' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -l json -d 'Print a JSON array of entries'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand audit" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l trusted-key -d 'Refuse the statement unless its signature verifies with this minisign public key (a .pub file or the base64 key; repeatable)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l signature-out -d 'Also write the statement\'s `.minisig` signature to FILE (for `minisign -V`)' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -l json -d 'Print the server\'s whole answer (statement, signature, key id, verified) as JSON'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand provenance" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l output -d 'Path prefix of the key files: writes PREFIX.key and PREFIX.pub' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -l force -d 'Overwrite existing key files'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand keygen" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -l json -d 'Print the answer as JSON'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -f -a "add" -d 'Trust a minisign public key (a .pub file or the base64 key)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -f -a "list" -d 'List the trusted keys'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -f -a "remove" -d 'Stop trusting a key (its id: 16 hex digits)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -f -a "policy" -d 'Print the protected tags, or set them with --protect (repeatable) or --clear'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and not __fish_seen_subcommand_from add list remove policy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l description -d 'What the key is for' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -l json -d 'Print the answer as JSON'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -l json -d 'Print the answer as JSON'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -l json -d 'Print the answer as JSON'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l protect -d 'A tag whose records need a trusted signature (replaces the list)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l clear -d 'Protect no tag'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -l json -d 'Print the answer as JSON'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from policy" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "add" -d 'Trust a minisign public key (a .pub file or the base64 key)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the trusted keys'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Stop trusting a key (its id: 16 hex digits)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "policy" -d 'Print the protected tags, or set them with --protect (repeatable) or --clear'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand trust; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -f -a "policy" -d 'Print the policy, or set it when any option is given (the options replace it whole)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -f -a "plan" -d 'What a run would delete and, for each record a rule matched, why it stays'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -f -a "run" -d 'Run the policy now and print the run\'s outcome'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -f -a "runs" -d 'The partner\'s runs, newest first'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and not __fish_seen_subcommand_from policy plan run runs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l keep-newest -d 'Keep this many newest records per type, name and branch tag' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l protect -d 'Never delete records carrying this tag (repeatable)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l expire -d 'Delete records carrying TAG once DAYS old (repeatable)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l expire-prefix -d 'Delete records carrying a tag that starts with PREFIX once DAYS old (repeatable)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -l json -d 'Print the server\'s JSON answer'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from policy" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -l json -d 'Print the server\'s JSON answer'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from plan" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -l json -d 'Print the server\'s JSON answer'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l limit -d 'Stop after this many runs' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l url -d 'Server base URL [env: FWREPO_URL]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l partner -d 'Partner id [env: FWREPO_PARTNER]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l client-id -d 'OAuth client id [env: FWREPO_CLIENT_ID]' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l client-secret -d 'OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l config -d 'Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l cache-dir -d 'Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]' -r -F
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l retries -d 'Retries of transient network failures' -r
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -l json -d 'Print a JSON array of runs'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -s q -l quiet -d 'No progress output'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from runs" -s h -l help -d 'Print help'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from help" -f -a "policy" -d 'Print the policy, or set it when any option is given (the options replace it whole)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from help" -f -a "plan" -d 'What a run would delete and, for each record a rule matched, why it stays'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from help" -f -a "run" -d 'Run the policy now and print the run\'s outcome'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from help" -f -a "runs" -d 'The partner\'s runs, newest first'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand retention; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "publish" -d 'Stamp, upload and register an artifact (the cargo package\'s binary when no FILE is given)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "list" -d 'List pool records matching a query (alias: query)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "pull" -d 'Download the newest matching binary (or an exact version number), verified and cached'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "stamp" -d 'Print the build\'s version, git and CI facts for a build script, CMake or a C header'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "verify" -d 'Check a binary against its pool record'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "audit" -d 'Print the partner\'s audit log, newest first (needs the admin scope)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "provenance" -d 'Print a binary\'s signed build provenance (in-toto statement, SLSA provenance v1)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "keygen" -d 'Make a minisign key pair for `publish --sign-key`'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "trust" -d 'The partner\'s trusted signing keys and protected tags (needs the admin scope)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "retention" -d 'The partner\'s retention policy, its dry run and its runs (needs the admin scope)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and not __fish_seen_subcommand_from publish list pull stamp verify audit provenance keygen trust retention help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and __fish_seen_subcommand_from trust" -f -a "add" -d 'Trust a minisign public key (a .pub file or the base64 key)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and __fish_seen_subcommand_from trust" -f -a "list" -d 'List the trusted keys'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and __fish_seen_subcommand_from trust" -f -a "remove" -d 'Stop trusting a key (its id: 16 hex digits)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and __fish_seen_subcommand_from trust" -f -a "policy" -d 'Print the protected tags, or set them with --protect (repeatable) or --clear'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and __fish_seen_subcommand_from retention" -f -a "policy" -d 'Print the policy, or set it when any option is given (the options replace it whole)'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and __fish_seen_subcommand_from retention" -f -a "plan" -d 'What a run would delete and, for each record a rule matched, why it stays'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and __fish_seen_subcommand_from retention" -f -a "run" -d 'Run the policy now and print the run\'s outcome'
complete -c fwrepo -n "__fish_fwrepo_using_subcommand help; and __fish_seen_subcommand_from retention" -f -a "runs" -d 'The partner\'s runs, newest first'
