// A single-node Slurm cluster for the tests, started by the test itself: Debian's slurm-wlm
// (slurmctld and slurmd) configured in a temporary folder, on two free TCP ports of 127.0.0.1,
// with no systemd. Requests are authenticated as on a real cluster, by munge: a munged of the
// test's own, on a socket in the folder, with a fresh random key that only root may read (so
// another user of the machine cannot pass for root to these daemons). One node, two CPUs and
// two GPUs that are gres entries on /dev/null and /dev/zero (Slurm only checks that a gres file
// is a device; it then sets CUDA_VISIBLE_DEVICES for each job as on a GPU node), so that a
// batch script asking --gres=gpu:1 runs unchanged.
//
// slurmd must run as root to start jobs; the tests run as root here and in CI. Not root, or
// Slurm not installed: start() returns nullptr and says why, and the test skips. Installed but
// not starting: start() returns nullptr with the daemons' log, and the test fails.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "harness/util/subprocess.hpp"

namespace kforge::testing {

class SlurmCluster {
 public:
  // Why this machine cannot run the cluster (not installed, not root), or "" when it can.
  static std::string unavailable() {
    for (const char* program : {"slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "munged"}) {
      if (find(program).empty())
        return std::string("Slurm is not installed (no ") + program +
               "; Debian's slurmctld, slurmd and slurm-client, with munge: "
               "scripts/install-deps.sh)";
    }
    if (::geteuid() != 0)
      return "slurmd starts jobs as their user only when it runs as root; this test is not root";
    return "";
  }

  // A running cluster, or nullptr with `failure` holding what went wrong and the logs.
  static std::unique_ptr<SlurmCluster> start(std::string* failure) {
    std::unique_ptr<SlurmCluster> cluster(new SlurmCluster());
    std::string why = cluster->initialise();
    if (why.empty())
      return cluster;
    *failure = why + "\n--- munged.log ---\n" + cluster->log("munged.log") +
               "\n--- slurmctld.log ---\n" + cluster->log("slurmctld.log") +
               "\n--- slurmd.log ---\n" + cluster->log("slurmd.log");
    return nullptr;
  }

  ~SlurmCluster() {
    // scontrol shutdown stops both daemons, which save their state as they go: the folder is
    // removed once they are gone (a daemon still there after 10 s is killed), munged last.
    // Their process ids were read at the start: the daemons remove their pid files early.
    // (A cluster that never became ready has only its pid files.)
    if (daemons_.empty())
      daemons_ = {pid("slurmctld.pid"), pid("slurmd.pid"), pid("munged.pid")};
    command("scontrol", {"shutdown"}, 30);
    stop(daemons_[0], 0);
    stop(daemons_[1], 0);
    stop(daemons_[2], SIGTERM);
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path configuration() const { return folder_ / "slurm.conf"; }

  // Runs a Slurm client command against this cluster (SLURM_CONF), with `environment` added.
  ProcessResult command(const std::string& program, const std::vector<std::string>& arguments,
                        int time_limit_seconds = 60,
                        const std::map<std::string, std::string>& environment = {},
                        const std::optional<std::filesystem::path>& directory = {}) const {
    ProcessSpec spec;
    spec.program = find(program);
    spec.arguments = arguments;
    spec.environment_overrides = environment;
    spec.environment_overrides["SLURM_CONF"] = configuration().string();
    spec.working_directory = directory;
    spec.time_limit = std::chrono::seconds(time_limit_seconds);
    return run_process(spec);
  }

  // Waits until no task of `job` is pending or running; false after `seconds`.
  bool wait_for(const std::string& job, int seconds) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      ProcessResult queue = command("squeue", {"-h", "-j", job, "-o", "%i %T"});
      if (queue.succeeded() && strings::trim(queue.standard_output).empty())
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return false;
  }

  // Each task's `scontrol show job` line (one line a task, "JobState=..." among its fields).
  std::string job_record(const std::string& job) const {
    return command("scontrol", {"-o", "show", "job", job}).standard_output;
  }

  std::string log(const std::string& name) const {
    std::error_code ignored;
    return std::filesystem::exists(folder_ / name, ignored) ? files::read(folder_ / name) : "";
  }

 private:
  SlurmCluster() = default;

  static std::string find(const std::string& program) {
    for (const char* folder : {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"}) {
      std::filesystem::path path = std::filesystem::path(folder) / program;
      if (::access(path.c_str(), X_OK) == 0)
        return path.string();
    }
    return "";
  }

  // A TCP port of 127.0.0.1 that was free a moment ago (the kernel's pick).
  static int free_port() {
    int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = 0;
    if (::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
      port = ntohs(address.sin_port);
    ::close(socket_fd);
    return port;
  }

  pid_t pid(const char* pid_file) const {
    std::error_code ignored;
    if (!std::filesystem::exists(folder_ / pid_file, ignored))
      return 0;
    return static_cast<pid_t>(std::atol(files::read(folder_ / pid_file).c_str()));
  }
  // Running, not a zombie: the daemons are not this process's children, and whoever inherits
  // them may be slow to reap them.
  static bool alive(pid_t process) {
    if (process <= 0 || ::kill(process, 0) != 0)
      return false;
    std::ifstream file("/proc/" + std::to_string(process) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    size_t end = stat.rfind(')');
    return end != std::string::npos && end + 2 < stat.size() && stat[end + 2] != 'Z';
  }
  // Sends `signal` (none: 0), waits up to 10 s for the process to end, then kills it.
  static void stop(pid_t process, int signal) {
    if (signal != 0 && alive(process))
      ::kill(process, signal);
    for (int attempt = 0; attempt < 100 && alive(process); ++attempt)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (alive(process))
      ::kill(process, SIGKILL);
  }

  std::string initialise() {
    std::random_device entropy;
    folder_ = std::filesystem::temp_directory_path() /
              ("kforge-slurm-" + std::to_string(::getpid()) + "-" + std::to_string(entropy()));
    std::filesystem::create_directories(folder_ / "state");
    std::filesystem::create_directories(folder_ / "spool" / kNode);
    // munged wants every folder above its socket searchable by all, and its key for root alone.
    std::filesystem::create_directories(folder_ / "munge");
    ::chmod(folder_.c_str(), 0711);
    ::chmod((folder_ / "munge").c_str(), 0755);
    std::string key(1024, '\0');
    for (char& byte : key)
      byte = static_cast<char>(entropy());
    files::write_atomic(folder_ / "munge.key", key);
    ::chmod((folder_ / "munge.key").c_str(), 0400);
    const std::string socket = (folder_ / "munge" / "munge.sock").string();
    ProcessResult munge =
        daemon("munged", {"--socket=" + socket, "--key-file=" + (folder_ / "munge.key").string(),
                          "--pid-file=" + (folder_ / "munged.pid").string(),
                          "--log-file=" + (folder_ / "munged.log").string(),
                          "--seed-file=" + (folder_ / "munged.seed").string()});
    if (!munge.succeeded())
      return "munged did not start: " + munge.describe_end() + " " + munge.standard_error;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    // slurmctld runs only where its host name is the configuration's SlurmctldHost.
    std::string short_host = std::string(host).substr(0, std::string(host).find('.'));
    int controller_port = free_port(), node_port = free_port();
    if (controller_port == 0 || node_port == 0 || controller_port == node_port)
      return "no two free TCP ports on 127.0.0.1";
    const std::string folder = folder_.string();
    files::write_atomic(configuration(),
                        "ClusterName=kforgetest\n"
                        "SlurmctldHost=" +
                            short_host + "(127.0.0.1)\n" +
                            "SlurmctldPort=" + std::to_string(controller_port) +
                            "\nSlurmdPort=" + std::to_string(node_port) +
                            "\n"
                            "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket=" +
                            socket +
                            "\n"
                            "SlurmUser=root\nSlurmdUser=root\n"
                            "StateSaveLocation=" +
                            folder + "/state\nSlurmdSpoolDir=" + folder +
                            "/spool/%n\n"
                            "SlurmctldPidFile=" +
                            folder + "/slurmctld.pid\nSlurmdPidFile=" + folder +
                            "/slurmd.pid\n"
                            "SlurmctldLogFile=" +
                            folder + "/slurmctld.log\nSlurmdLogFile=" + folder +
                            "/slurmd.log\n"
                            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
                            "SchedulerType=sched/builtin\nSelectType=select/cons_tres\n"
                            "SelectTypeParameters=CR_Core\nSlurmdParameters=config_overrides\n"
                            "ReturnToService=2\nMpiDefault=none\nJobCompType=jobcomp/none\n"
                            "AccountingStorageType=accounting_storage/none\nGresTypes=gpu\n"
                            "NodeName=" +
                            kNode + " NodeHostname=" + short_host +
                            " NodeAddr=127.0.0.1 CPUs=2 RealMemory=4000 Gres=gpu:2 State=UNKNOWN\n"
                            "PartitionName=test Nodes=" +
                            kNode + " Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES\n");
    files::write_atomic(folder_ / "gres.conf", std::string("NodeName=") + kNode +
                                                   " Name=gpu File=/dev/null\n"
                                                   "NodeName=" +
                                                   kNode + " Name=gpu File=/dev/zero\n");
    ProcessResult controller = daemon("slurmctld", {"-f", configuration().string(), "-i"});
    if (!controller.succeeded())
      return "slurmctld did not start: " + controller.describe_end() + " " +
             controller.standard_error;
    ProcessResult node = daemon("slurmd", {"-f", configuration().string(), "-N", kNode});
    if (!node.succeeded())
      return "slurmd did not start: " + node.describe_end() + " " + node.standard_error;
    // Ready once the node is idle: registered with the controller, taking jobs.
    for (int attempt = 0; attempt < 120; ++attempt) {
      ProcessResult state = command("sinfo", {"-h", "-N", "-o", "%T"}, 10);
      if (strings::trim(state.standard_output) == "idle") {
        daemons_ = {pid("slurmctld.pid"), pid("slurmd.pid"), pid("munged.pid")};
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return "the Slurm node did not become idle in 30 s";
  }

  ProcessResult daemon(const std::string& program, const std::vector<std::string>& arguments) {
    // The daemons fork into the background; this waits for the foreground part only.
    ProcessSpec spec;
    spec.program = find(program);
    spec.arguments = arguments;
    spec.environment_overrides["SLURM_CONF"] = configuration().string();
    spec.time_limit = std::chrono::seconds(60);
    return run_process(spec);
  }

  static constexpr const char* kNode = "kforge-node";
  std::filesystem::path folder_;
  std::vector<pid_t> daemons_;  // slurmctld, slurmd, munged
};

}  // namespace kforge::testing
